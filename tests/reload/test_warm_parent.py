"""The fast path of `python run.py --reload` on POSIX: each bot is forked from a warm parent
that imported aiogram once, so a saved handler answers within a second or two, never with two
pollers; a change to the runtime (`bot/`) replaces the warm parent; `BOT_RELOAD_FORK=0` starts
fresh interpreters as before."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from bot.exit_codes import ExitCode
from bot.runtime.single_poller.lock import read_lock_holder
from sandbox import Emulator
from tests.helpers.processes import Program
from tests.helpers.reload import (
    POLLING,
    RESTARTED,
    copy_project,
    overlapping_long_polls,
    processes_in,
    run_in_copy,
    set_echo_prefix,
)

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="fork: POSIX only"),
    pytest.mark.timeout(300),
]
WAIT = 120.0  # seconds any one step may take on a loaded machine
SAVES = 3
# A fresh interpreter spends seconds importing aiogram before it can answer; a forked bot does
# not. Generous for a loaded machine, and still below what a fresh import costs there.
FORKED_ANSWER_WITHIN = 4.0


@pytest.fixture
async def programs() -> AsyncIterator[list[Program]]:
    """Programs a test starts; every one is stopped (and its group killed) afterwards."""
    started: list[Program] = []
    yield started
    for program in started:
        await program.stop(signal.SIGINT)


def polling_bot(env: dict[str, str], token: str) -> psutil.Process:
    """The process holding the bot's polling lock."""
    holder = read_lock_holder(Path(env["LOCK_DIR"]), int(token.split(":")[0]))
    assert holder is not None, "no bot holds the polling lock"
    return psutil.Process(holder.pid)


async def reloader(
    tmp_path: Path, env: dict[str, str], programs: list[Program], fork: str
) -> tuple[Path, Program]:
    project, env_file = copy_project(tmp_path / "project", env)
    program = run_in_copy(project, "--reload", "--env-file", str(env_file))
    program.env["BOT_RELOAD_FORK"] = fork
    supervisor = await program.start()
    programs.append(supervisor)
    await supervisor.wait_for_lines(POLLING, timeout=WAIT)
    return project, supervisor


async def test_saved_handler_is_answered_by_a_bot_forked_from_the_warm_parent(
    tmp_path: Path,
    emulator: Emulator,
    token: str,
    polling_env: dict[str, str],
    programs: list[Program],
) -> None:
    project, supervisor = await reloader(tmp_path, polling_env, programs, fork="1")
    warm_parent = polling_bot(polling_env, token).parent()
    assert warm_parent is not None and warm_parent.pid != supervisor.pid
    assert warm_parent.ppid() == supervisor.pid

    for version in range(1, SAVES + 1):
        saved = time.monotonic()
        set_echo_prefix(project, f"v{version}: ")
        await supervisor.wait_for_lines(RESTARTED, count=version, timeout=WAIT)
        emulator.send_text(token, f"after v{version}", chat_id=version)
        replies = await emulator.wait_bot_messages(token, version, 1, timeout=WAIT)
        assert [m["text"] for m in replies] == [f"v{version}: after v{version}"]
        assert time.monotonic() - saved < FORKED_ANSWER_WITHIN, supervisor.output
        bot = polling_bot(polling_env, token)
        assert bot.ppid() == warm_parent.pid  # forked from the same warm parent: no re-import

    polls = emulator.api_calls(token, "getUpdates")
    assert overlapping_long_polls(polls) == []
    assert [c for c in polls if c.error_code == 409] == []

    supervisor.send_signal(signal.SIGINT)  # Ctrl+C ends the bot, the warm parent and all
    assert await supervisor.wait(timeout=WAIT) == ExitCode.OK, supervisor.output
    assert processes_in(project) == []


async def test_change_to_the_runtime_replaces_the_warm_parent(
    tmp_path: Path,
    emulator: Emulator,
    token: str,
    polling_env: dict[str, str],
    programs: list[Program],
) -> None:
    project, supervisor = await reloader(tmp_path, polling_env, programs, fork="1")
    first_parent = polling_bot(polling_env, token).parent()
    assert first_parent is not None

    runtime_file = project / "bot" / "factory.py"
    runtime_file.write_text(runtime_file.read_text() + "\n# edited by the test\n")
    await supervisor.wait_for_lines(RESTARTED, timeout=WAIT)

    new_parent = polling_bot(polling_env, token).parent()
    assert new_parent is not None and new_parent.pid != first_parent.pid
    assert new_parent.ppid() == supervisor.pid
    assert not first_parent.is_running()  # the old runtime is not kept loaded
    emulator.send_text(token, "still here")
    assert [m["text"] for m in await emulator.wait_bot_messages(token, 100, 1, WAIT)] == [
        "still here"
    ]
    polls = emulator.api_calls(token, "getUpdates")
    assert overlapping_long_polls(polls) == []


async def test_fork_switched_off_starts_each_bot_as_a_fresh_interpreter(
    tmp_path: Path,
    emulator: Emulator,
    token: str,
    polling_env: dict[str, str],
    programs: list[Program],
) -> None:
    project, supervisor = await reloader(tmp_path, polling_env, programs, fork="0")
    assert polling_bot(polling_env, token).ppid() == supervisor.pid

    set_echo_prefix(project, "fresh: ")
    await supervisor.wait_for_lines(RESTARTED, timeout=WAIT)
    emulator.send_text(token, "hello", chat_id=7)
    replies = await emulator.wait_bot_messages(token, 7, 1, timeout=WAIT)
    assert [m["text"] for m in replies] == ["fresh: hello"]
    assert polling_bot(polling_env, token).ppid() == supervisor.pid
