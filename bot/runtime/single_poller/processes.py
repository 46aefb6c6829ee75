"""Which processes on this machine run this project's bot, found by their command lines.

psutil lists the processes on every platform (no `ps`, `wmic` or PowerShell output to parse);
a process this user may not inspect is listed without its details. When no list can be had,
the caller says so instead of guessing.

One bot can be several processes: on Windows `py run.py` is `py.exe`, which starts the
virtualenv's `python.exe` launcher, which starts the real interpreter, all three with the same
arguments; a debugger (VS Code's debugpy, PyCharm's pydevd) wraps the bot's command line in
its own. `collapse_launchers` folds each chain into the innermost process, the one that holds
the polling lock.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psutil

# Subcommands that manage the bot rather than run it: their processes are not bots.
MANAGEMENT_COMMANDS = frozenset({"doctor", "webhook", "migrate", "rollback"})
_TOKEN_LIKE = re.compile(r"\b(\d{3,20}):[A-Za-z0-9_-]{20,}")
# Options of the interpreter (and of `py.exe`) that take a separate value.
_VALUE_OPTIONS = frozenset({"-X", "-W"})
_ATTRIBUTES = ["pid", "ppid", "cmdline", "cwd"]


@dataclass(frozen=True)
class ProcessInfo:
    """A running process: its id, its arguments and (when known) its working directory and
    parent; `launchers` are the processes that only started it (see collapse_launchers)."""

    pid: int
    args: tuple[str, ...]
    cwd: Path | None = None
    ppid: int | None = None
    launchers: tuple[int, ...] = ()

    @property
    def command(self) -> str:
        """The command line as it may be shown: anything token-like is masked."""
        return _TOKEN_LIKE.sub(r"\1:***", " ".join(self.args))


ProcessSource = Callable[[list[str]], Iterable[Any]]


def list_processes(source: ProcessSource = psutil.process_iter) -> list[ProcessInfo] | None:
    """Every process this user may see, or None when the platform gives no list.

    `source` is psutil's `process_iter` (tests give a psutil-shaped tree instead)."""
    try:
        return [_info(process.info) for process in source(_ATTRIBUTES)]
    except (psutil.Error, OSError):
        return None


def _info(info: dict[str, Any]) -> ProcessInfo:
    return ProcessInfo(
        info["pid"],
        tuple(info.get("cmdline") or ()),
        Path(info["cwd"]) if info.get("cwd") else None,
        info.get("ppid"),
    )


def find_bot_processes(
    root: Path,
    exclude: set[int] | None = None,
    source: ProcessSource = psutil.process_iter,
) -> list[ProcessInfo] | None:
    """Processes running this project's bot (run.py, `-m bot`, the gunicorn app), one per
    bot (launchers folded in), or None when processes cannot be listed. `exclude` holds pids
    to leave out (the caller itself, with its launchers)."""
    processes = list_processes(source)
    if processes is None:
        return None
    skip = {os.getpid(), *(exclude or set())}
    bots = [p for p in processes if bot_arguments(p, root) is not None]
    return [p for p in collapse_launchers(bots, root) if skip.isdisjoint({p.pid, *p.launchers})]


def collapse_launchers(bots: Sequence[ProcessInfo], root: Path | None) -> list[ProcessInfo]:
    """Fold each chain of bot processes with the same bot arguments, parent to child (`py.exe`
    -> the venv launcher -> `python.exe`, a debugger's launcher -> its debuggee), into the
    innermost process, with the outer pids in `launchers`."""
    by_pid = {p.pid: p for p in bots}

    def parent_launcher(process: ProcessInfo) -> ProcessInfo | None:
        parent = by_pid.get(process.ppid) if process.ppid is not None else None
        if parent is None or parent.pid == process.pid:
            return None
        same = bot_arguments(parent, root) == bot_arguments(process, root)
        return parent if same else None

    launchers = {parent.pid for p in bots if (parent := parent_launcher(p)) is not None}
    folded = []
    for process in bots:
        if process.pid in launchers:
            continue
        chain: list[int] = []
        parent = parent_launcher(process)
        while parent is not None and parent.pid not in chain:
            chain.append(parent.pid)
            parent = parent_launcher(parent)
        folded.append(replace(process, launchers=tuple(reversed(chain))))
    return folded


def is_bot_process(process: ProcessInfo, root: Path | None) -> bool:
    """True when the command line starts this project's bot (not a management command);
    with `root` None, a bot of any copy of this template."""
    return bot_arguments(process, root) is not None


def bot_arguments(process: ProcessInfo, root: Path | None) -> tuple[str, ...] | None:
    """What the process runs when it is a bot (`run.py --env production`, `-m bot`, the
    gunicorn app), the same for a launcher and its child; None when it is no bot of ours."""
    args = process.args
    if not args:
        return None
    root = root.resolve() if root is not None else None
    program = Path(args[0]).name.lower()
    rest = list(args[1:])
    if "gunicorn" in program or any(Path(a).name.lower().startswith("gunicorn") for a in rest[:1]):
        if not any("bot.webhook.app" in a for a in rest):
            return None
        here = _in_project(process, root, _option_value(rest, "--chdir"))
        return ("gunicorn", *(a for a in rest if "bot.webhook.app" in a)) if here else None
    if "python" not in program and program not in ("py", "py.exe"):
        return None
    return _python_target(process, root, rest)


def _python_target(
    process: ProcessInfo, root: Path | None, rest: list[str]
) -> tuple[str, ...] | None:
    skip_next = False
    for index, arg in enumerate(rest):
        if skip_next:
            skip_next = False
            continue
        if arg in _VALUE_OPTIONS:
            skip_next = True
            continue
        if arg == "-m" and index + 1 < len(rest):
            if rest[index + 1] == "debugpy":
                return _debugged(process, root, rest[index + 2 :])
            if rest[index + 1] != "bot":
                return None
            here = not _manages(rest[index + 2 :]) and _in_project(process, root, None)
            return ("-m", "bot", *rest[index + 2 :]) if here else None
        if arg.endswith("run.py"):
            return _run_py(process, root, arg, rest[index + 1 :])
        if _is_debugger(arg):
            return _debugged(process, root, rest[index + 1 :])
        if not arg.startswith("-"):
            return None  # some other script
    return None


def _run_py(
    process: ProcessInfo, root: Path | None, arg: str, after: list[str]
) -> tuple[str, ...] | None:
    script = Path(arg)
    if root is None:
        here = True
    elif script.is_absolute():
        here = script.parent.resolve() == root
    else:
        here = _in_project(process, root, None, relative=script)
    return ("run.py", *after) if here and not _manages(after) else None


def _is_debugger(arg: str) -> bool:
    # PyCharm: `.../pydevd.py --file run.py`; VS Code: `.../debugpy/launcher ... -- run.py`
    # and its debuggee `.../debugpy --connect ... run.py`.
    parts = {part.lower() for part in Path(arg).parts}
    return Path(arg).name.lower() == "pydevd.py" or "debugpy" in parts


def _debugged(process: ProcessInfo, root: Path | None, rest: list[str]) -> tuple[str, ...] | None:
    """The bot inside a debugger's command line: `run.py ...` or `-m bot ...` after its own
    options (whatever they are: they differ between debugger versions)."""
    for index, arg in enumerate(rest):
        if arg.endswith("run.py"):
            return _run_py(process, root, arg, rest[index + 1 :])
        if arg == "-m" and rest[index + 1 : index + 2] == ["bot"]:
            return _python_target(process, root, rest[index:])
    return None


def _manages(args: list[str]) -> bool:
    positional = [a for a in args if not a.startswith("-")]
    return any(a in MANAGEMENT_COMMANDS for a in positional[:3])


def _option_value(args: list[str], name: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _in_project(
    process: ProcessInfo, root: Path | None, chdir: str | None, relative: Path | None = None
) -> bool:
    # Without a working directory (another user's process) a relative `run.py` or `-m bot`
    # may be this project or another copy; counting it is safer than missing a second poller.
    base = Path(chdir) if chdir else process.cwd
    if root is None or base is None:
        return True
    if relative is not None:
        return (base / relative).parent.resolve() == root
    return base.resolve() == root
