"""Which processes on this machine run this project's bot, found by their command lines.

psutil lists the processes on every platform; a process this user may not inspect is
listed without its details. When no list can be had, the caller says so instead of guessing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import psutil

# Subcommands that manage the bot rather than run it: their processes are not bots.
MANAGEMENT_COMMANDS = frozenset({"doctor", "webhook", "migrate", "rollback"})
_TOKEN_LIKE = re.compile(r"\b(\d{3,20}):[A-Za-z0-9_-]{20,}")


@dataclass(frozen=True)
class ProcessInfo:
    """A running process: its id, its arguments and (when known) its working directory."""

    pid: int
    args: tuple[str, ...]
    cwd: Path | None = None

    @property
    def command(self) -> str:
        """The command line as it may be shown: anything token-like is masked."""
        return _TOKEN_LIKE.sub(r"\1:***", " ".join(self.args))


def list_processes() -> list[ProcessInfo] | None:
    """Every process this user may see, or None when the platform gives no list."""
    try:
        return [
            ProcessInfo(
                process.info["pid"],
                tuple(process.info["cmdline"] or ()),
                Path(process.info["cwd"]) if process.info["cwd"] else None,
            )
            for process in psutil.process_iter(["pid", "cmdline", "cwd"])
        ]
    except (psutil.Error, OSError):
        return None


def find_bot_processes(root: Path, exclude: set[int] | None = None) -> list[ProcessInfo] | None:
    """Processes running this project's bot (run.py, `-m bot`, the gunicorn app), or None
    when processes cannot be listed. `exclude` holds pids to leave out (the caller itself)."""
    processes = list_processes()
    if processes is None:
        return None
    skip = {os.getpid(), *(exclude or set())}
    return [p for p in processes if p.pid not in skip and is_bot_process(p, root)]


def is_bot_process(process: ProcessInfo, root: Path) -> bool:
    """True when the command line starts this project's bot (not a management command)."""
    args = process.args
    if not args:
        return False
    root = root.resolve()
    program = Path(args[0]).name.lower()
    rest = list(args[1:])
    if "gunicorn" in program or any(Path(a).name.lower().startswith("gunicorn") for a in rest[:1]):
        if not any("bot.webhook.app" in a for a in rest):
            return False
        return _in_project(process, root, _option_value(rest, "--chdir"))
    if "python" not in program and program not in ("py", "py.exe"):
        return False
    skip_next = False
    for index, arg in enumerate(rest):
        if skip_next:
            skip_next = False
            continue
        if arg in ("-X", "-W"):
            skip_next = True  # options of the interpreter that take a value
            continue
        if arg == "-m" and index + 1 < len(rest):
            if rest[index + 1] != "bot":
                return False
            return not _manages(rest[index + 2 :]) and _in_project(process, root, None)
        if arg.endswith("run.py"):
            script = Path(arg)
            if script.is_absolute():
                here = script.parent.resolve() == root
            else:
                here = _in_project(process, root, None, relative=script)
            return here and not _manages(rest[index + 1 :])
        if not arg.startswith("-"):
            return False  # some other script
    return False


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
    process: ProcessInfo, root: Path, chdir: str | None, relative: Path | None = None
) -> bool:
    # Without a working directory (another user's process) a relative `run.py` or `-m bot`
    # may be this project or another copy; counting it is safer than missing a second poller.
    base = Path(chdir) if chdir else process.cwd
    if base is None:
        return True
    if relative is not None:
        return (base / relative).parent.resolve() == root
    return base.resolve() == root


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine."""
    return psutil.pid_exists(pid)
