"""Which processes on this machine run this project's bot, found by their command lines.

Linux reads /proc, macOS and the BSDs ask `ps`, Windows asks PowerShell (or `wmic` where
PowerShell is missing). Listing processes is best effort: when it is not possible, the caller
says so instead of guessing.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Subcommands that manage the bot rather than run it: their processes are not bots.
MANAGEMENT_COMMANDS = frozenset({"doctor", "webhook", "migrate", "rollback"})
_TOKEN_LIKE = re.compile(r"\b(\d{3,20}):[A-Za-z0-9_-]{20,}")
_LIST_TIMEOUT = 10.0


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
        if sys.platform.startswith("linux") and Path("/proc").is_dir():
            return _from_proc()
        if sys.platform == "win32":
            return _from_windows()
        return _from_ps()
    except (OSError, subprocess.SubprocessError, ValueError):
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
    # Without a working directory (macOS, Windows) a relative `run.py` or `-m bot` may be
    # this project or another copy; counting it is safer than missing a second poller.
    base = Path(chdir) if chdir else process.cwd
    if base is None:
        return True
    if relative is not None:
        return (base / relative).parent.resolve() == root
    return base.resolve() == root


def _from_proc() -> list[ProcessInfo]:
    processes = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # exited meanwhile, or not ours to read
        args = tuple(part.decode(errors="replace") for part in raw.split(b"\0") if part)
        try:
            cwd: Path | None = Path(os.readlink(entry / "cwd"))
        except OSError:
            cwd = None
        processes.append(ProcessInfo(int(entry.name), args, cwd))
    return processes


def _from_ps() -> list[ProcessInfo]:
    output = subprocess.run(
        ["ps", "-A", "-ww", "-o", "pid=,args="],
        capture_output=True,
        text=True,
        timeout=_LIST_TIMEOUT,
        check=True,
    ).stdout
    processes = []
    for line in output.splitlines():
        pid, _, command = line.strip().partition(" ")
        if pid.isdigit():
            processes.append(ProcessInfo(int(pid), tuple(_split(command))))
    return processes


def _from_windows() -> list[ProcessInfo]:
    script = (
        "Get-CimInstance Win32_Process | Where-Object { $_.CommandLine } | "
        "Select-Object ProcessId, CommandLine | ConvertTo-Json -Compress"
    )
    try:
        output = subprocess.run(
            ["powershell", "-NoProfile", "-NonInteractive", "-Command", script],
            capture_output=True,
            text=True,
            timeout=_LIST_TIMEOUT * 3,  # PowerShell's own start-up takes seconds
            check=True,
        ).stdout
        rows = json.loads(output or "[]")
        rows = rows if isinstance(rows, list) else [rows]
        return [
            ProcessInfo(int(row["ProcessId"]), tuple(_split(str(row["CommandLine"]), posix=False)))
            for row in rows
        ]
    except (OSError, subprocess.SubprocessError, ValueError, KeyError):
        return _from_wmic()


def _from_wmic() -> list[ProcessInfo]:
    output = subprocess.run(
        ["wmic", "process", "get", "ProcessId,CommandLine", "/format:csv"],
        capture_output=True,
        text=True,
        timeout=_LIST_TIMEOUT,
        check=True,
    ).stdout
    processes = []
    for line in output.splitlines():
        # Node,CommandLine,ProcessId: the command line may itself contain commas.
        _, _, rest = line.partition(",")
        command, _, pid = rest.rpartition(",")
        if pid.strip().isdigit() and command:
            processes.append(ProcessInfo(int(pid), tuple(_split(command, posix=False))))
    return processes


def _split(command: str, posix: bool = True) -> list[str]:
    try:
        parts = shlex.split(command, posix=posix)
    except ValueError:
        parts = command.split()
    return [p.strip('"') for p in parts]


def pid_alive(pid: int) -> bool | None:
    """Whether a process with this pid exists on this machine (None: cannot tell)."""
    if sys.platform == "win32":
        try:
            output = subprocess.run(
                ["tasklist", "/FI", f"PID eq {pid}", "/NH", "/FO", "CSV"],
                capture_output=True,
                text=True,
                timeout=_LIST_TIMEOUT,
                check=True,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        return f'"{pid}"' in output
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it belongs to another user
    except OSError:
        return None
    return True
