"""`python run.py --reload` in a copy of the project, and the edits a developer makes to it."""

from __future__ import annotations

import itertools
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import psutil

from sandbox.records import ApiCall
from tests.helpers.processes import ROOT, Program, write_env_file
from tests.helpers.project_copy import fresh_copy, run_py

# What the supervisor prints once a restarted bot polls, and when the bot exits on its own.
RESTARTED = "the bot was restarted in"
EXITED = "Reload: the bot exited with code"
POLLING = "is polling"
# The copy runs the tests' own handlers (tests/fixtures/), copied to its top level: the
# reloader watches the project's Python files but not tests/. Its echo is what a test edits.
HANDLERS_FILE = "conversation_handlers.py"
_ECHO_REPLY = re.compile(r'await message\.answer\(.*message\.text or "".*\)')


def copy_project(destination: Path, env: dict[str, str], *also: str) -> tuple[Path, Path]:
    """What a bot needs to run (bot/, handlers/, run.py, and `also`) and the tests' handlers
    copied to `destination`, with an env file from `env` that names those handlers: the tests
    edit the copy, never the checkout. Returns (project, env file)."""
    project = fresh_copy(destination, only=("bot", "handlers", "run.py", *also))
    shutil.copy2(ROOT / "tests" / "fixtures" / HANDLERS_FILE, project / HANDLERS_FILE)
    values = {**env, "HANDLERS_MODULE": Path(HANDLERS_FILE).stem}
    return project, write_env_file(project / ".env.test", values)


def run_in_copy(project: Path, *args: str) -> Program:
    """`python run.py ...` in `project` (not started), its temporary files kept beside it: a
    reloader killed outright cannot remove its own."""
    program = run_py(project, *args)
    temporary = project.parent / "tmp"
    temporary.mkdir(exist_ok=True)
    program.env["TMPDIR"] = str(temporary)
    return program


def set_echo_prefix(project: Path, prefix: str) -> None:
    """Edit the echo handler so that it answers `prefix` + the text, as a developer would."""
    path = project / HANDLERS_FILE
    source = path.read_text()
    reply = f'await message.answer("{prefix}" + (message.text or ""), parse_mode=None)'
    edited = _ECHO_REPLY.sub(lambda _: reply, source)
    assert edited != source, "the echo handler's reply line was not found"
    path.write_text(edited)


def overlapping_long_polls(calls: Sequence[ApiCall]) -> list[tuple[ApiCall, ApiCall]]:
    """Pairs of long polls (getUpdates with a timeout) open at the same time: two pollers.

    Calls with timeout 0 are left out: a stopping bot confirms its offset that way right after
    hanging up its own parked poll, and the server may record that hang-up a moment after the
    confirmation arrived. One poller, not two; and it cannot cause a 409.
    """
    polls = sorted((c for c in calls if c.params.get("timeout", 0) > 0), key=lambda c: c.started)
    return [(a, b) for a, b in itertools.pairwise(polls) if b.started < a.finished]


def processes_in(project: Path) -> list[psutil.Process]:
    """Live processes running in `project` (the supervisor and its bots have it as cwd)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.cwd() == str(project) and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.Error:  # gone meanwhile, or not ours to look at
            continue
    return found
