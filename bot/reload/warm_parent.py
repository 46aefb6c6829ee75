"""The warm parent of `python run.py --reload` on POSIX: it imports aiogram and the runtime
once, then forks one bot per restart, so that a save costs the import of the user's code only.

The supervisor starts it as `python run.py` with the bot's own flags and the variable
`BOT_RELOAD_WARM_PARENT` naming the pipe it reports through (`bot/reload/forking.py` is the
supervisor's side). It reads one JSON line per bot from its stdin (the environment that bot
gets), forks, and writes `started PID` and later `exited PID CODE` to that pipe. The forked
process returns from `serve_forks()` into `bot.cli.main`, which runs the bot exactly as a fresh
`python run.py` would: it parses the same flags, reads the settings and the env file anew, takes
the polling lock, and imports `handlers/` for the first time.

Why a fork is safe here: this process never starts an event loop, a thread or a socket (it
checks there is only one thread before each fork), and it imports nothing of the user's code
(a module of the project outside `bot/` found after the warm-up is dropped, so that each bot
imports it afresh). Everything it holds is read-only code and the pipe to the supervisor,
which the bot closes first.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import sys
import threading
from pathlib import Path
from typing import TextIO

from bot.settings import PROJECT_ROOT

WARM_PARENT_VARIABLE = "BOT_RELOAD_WARM_PARENT"
# What a bot imports in any case (polling and its runtime, aiogram with its Bot API models),
# named by the modules `bot.polling.process` imports late. Nothing of `handlers/`.
WARM_MODULES = (
    "bot.logs",
    "bot.polling.process",
    "bot.polling.runner",
    "bot.factory",
    "bot.runtime.observability.metrics_server",
    "bot.runtime.shared",
    "bot.runtime.stop_signals",
    "aiogram.types",
    "aiogram.methods",
)
RUNTIME_FOLDER = "bot"


def warm_parent_fd() -> int | None:
    """The report pipe when this process is the warm parent of a `--reload`, else None."""
    raw = os.environ.get(WARM_PARENT_VARIABLE)
    return int(raw) if raw else None


def serve_forks(report_fd: int) -> None:
    """Import the runtime, then fork a bot per request; returns only in a forked bot.

    The parent itself exits (code 0) when the supervisor closes its stdin.
    """
    os.environ.pop(WARM_PARENT_VARIABLE, None)  # its bots are no warm parents
    report = os.fdopen(report_fd, "w", buffering=1, encoding="utf-8")
    warm_up()
    report.write("ready\n")
    for line in sys.stdin:
        if threading.active_count() != 1:
            # A thread in a forked copy would be gone, its locks held forever: refuse.
            report.write("refused a thread was started in the warm parent\n")
            break
        environment: dict[str, str] = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _become_bot(report, environment)
            return
        # Both sides set the group: the supervisor may signal it before the bot runs a line.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.setpgid(pid, pid)
        try:
            report.write(f"started {pid}\n")
            _, status = os.waitpid(pid, 0)
            report.write(f"exited {pid} {os.waitstatus_to_exitcode(status)}\n")
        except BrokenPipeError:  # the supervisor is gone; its bot stops by itself
            break
    with contextlib.suppress(BrokenPipeError):
        report.close()
    raise SystemExit(0)


def warm_up() -> None:
    """Import what every bot imports, drop any user module that came along, and freeze the
    imported objects out of the garbage collector's sight (they live as long as the bot)."""
    for name in WARM_MODULES:
        importlib.import_module(name)
    for name in user_modules():
        del sys.modules[name]
    gc.collect()
    gc.freeze()  # full collections skip them; pages stay shared with the bots (copy-on-write)


def user_modules(root: Path = PROJECT_ROOT) -> list[str]:
    """Names of loaded modules that live in the project but outside the runtime (`bot/`):
    the user's code, which each bot must import itself."""
    runtime = root / RUNTIME_FOLDER
    found = []
    for name, module in list(sys.modules.items()):
        location = getattr(module, "__file__", None)
        if not location or name == "__main__":
            continue
        path = Path(location).resolve()
        if path.is_relative_to(root) and not path.is_relative_to(runtime):
            found.append(name)
    return found


def _become_bot(report: TextIO, environment: dict[str, str]) -> None:
    """In the forked process: its own process group, no pipe to the supervisor, no stdin,
    and the environment a fresh `python run.py` under the supervisor would get."""
    os.setpgid(0, 0)
    report.close()
    sys.stdin.close()  # the supervisor's requests are the parent's, not the bot's
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 (lives as long as the bot)
    os.environ.clear()
    os.environ.update(environment)
