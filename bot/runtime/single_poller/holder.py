"""Who holds a polling lock or the shared polling lease (`LockHolder`): the details file beside
the lock, what that pid is on this machine, and the one wording of "stop it" for each platform.

The details (`telegram-bot-<bot id>.lock.json`) are only a claim: a killed holder's pid may since
run something else (Windows reuses pids quickly), and anyone who can write to LOCK_DIR can
write them. So before a message advises stopping a pid, `check_holder` asks psutil whether
that pid is still the process that took the lock (same start time) and whether its command
line is a bot's.
"""

from __future__ import annotations

import enum
import json
import os
import shlex
import socket
import stat
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil

from bot.runtime.single_poller.processes import ProcessInfo, is_bot_process

_MODE = 0o600
# psutil's start times of one process agree to well under this; another process started in
# the same pid differs by more.
_SAME_START = 1.0


@dataclass(frozen=True)
class LockHolder:
    """The process that holds a bot's polling lock (`process_started`: its psutil start
    time, which tells it apart from a later process given the same pid)."""

    pid: int
    host: str
    started_at: datetime
    command: str
    process_started: float | None = None

    def describe(self) -> str:
        """`pid 4123 on host dev-laptop, since 2025-01-31 10:02:03`."""
        pid = f"pid {self.pid}" if self.pid else "unknown pid"
        since = self.started_at.strftime("%Y-%m-%d %H:%M:%S")
        return f"{pid} on host {self.host}, since {since}"

    @property
    def on_this_host(self) -> bool:
        """True when the holder recorded this machine's current host name."""
        return self.host == socket.gethostname()


class HolderState(enum.Enum):
    """What the pid named in the holder details is on this machine."""

    BOT = "a bot process, alive here"
    OTHER = "alive here, but not a bot's command line"
    GONE = "no longer runs here"
    ELSEWHERE = "on another machine sharing LOCK_DIR"
    UNKNOWN = "no details written"


@dataclass(frozen=True)
class HolderCheck:
    """`state`, and what the live process runs when it is not a bot (None if not visible)."""

    state: HolderState
    running: str | None = None

    @property
    def alive(self) -> bool | None:
        """Whether the holder's process runs here; None when that cannot be told."""
        if self.state in (HolderState.ELSEWHERE, HolderState.UNKNOWN):
            return None
        return self.state is not HolderState.GONE


def check_holder(holder: LockHolder) -> HolderCheck:
    """Whether the holder's pid is, on this machine, the process that took the lock.

    A holder whose host name differs is still this machine's when its pid runs here with the
    recorded start time: macOS renames the host when the network changes."""
    if not holder.pid:
        return HolderCheck(HolderState.UNKNOWN)
    try:
        process = psutil.Process(holder.pid)
        created = process.create_time()
    except psutil.NoSuchProcess:
        return HolderCheck(HolderState.GONE if holder.on_this_host else HolderState.ELSEWHERE)
    except psutil.Error:  # another account's process: alive, details hidden
        return HolderCheck(HolderState.OTHER if holder.on_this_host else HolderState.ELSEWHERE)
    same_process = holder.process_started is None or (
        abs(created - holder.process_started) < _SAME_START
    )
    if not holder.on_this_host and (holder.process_started is None or not same_process):
        return HolderCheck(HolderState.ELSEWHERE)
    if not same_process:
        return HolderCheck(HolderState.GONE)  # the pid was given to a later process
    try:
        args = tuple(process.cmdline())
    except psutil.Error:
        return HolderCheck(HolderState.OTHER)
    if is_bot_process(ProcessInfo(holder.pid, args), None):
        return HolderCheck(HolderState.BOT)
    return HolderCheck(HolderState.OTHER, ProcessInfo(holder.pid, args).command)


def stop_advice(pid: int, platform: str = sys.platform) -> str:
    """How to stop the bot process `pid`, in this platform's words, graceful way first."""
    if platform == "win32":
        return (
            f"press Ctrl+C in its terminal (graceful), or end it with `taskkill /F /PID {pid}` "
            "(a hard kill: its running handlers are cut off)"
        )
    return f"press Ctrl+C in its terminal, or run `kill {pid}` (both graceful)"


def holder_advice(holder: LockHolder, check: HolderCheck, platform: str = sys.platform) -> str:
    """What to do about the holder: stop it when it is a bot, else why not to."""
    if check.state is HolderState.BOT:
        return f"stop it: {stop_advice(holder.pid, platform)}"
    if check.state is HolderState.OTHER:
        running = f" (it runs `{check.running}`)" if check.running else ""
        return (
            f"pid {holder.pid} is not this bot's process{running}, so do not stop it: "
            "whatever holds the lock did not start with `run.py` or `python -m bot`; look for "
            "it in `python -m bot doctor`'s `bot processes` line"
        )
    if check.state is HolderState.ELSEWHERE:
        return f"stop it on host {holder.host}, where it runs"
    return (
        "it left no details this account can read (a bot of this template writes them at "
        "once): `python -m bot doctor` lists the bot processes that run here"
    )


def holder_path(lock_file: Path) -> Path:
    """The details file beside a lock file: `telegram-bot-<bot id>.lock.json`."""
    return lock_file.with_name(lock_file.name + ".json")


def this_process() -> LockHolder:
    """This process, as it records itself when it takes the lock."""
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    return LockHolder(
        pid=os.getpid(),
        host=socket.gethostname(),
        started_at=datetime.now().astimezone().replace(microsecond=0),
        command=command[:1000],
        process_started=psutil.Process().create_time(),
    )


def write_holder(path: Path, holder: LockHolder) -> None:
    """Record the holder: written aside and renamed into place, so a reader never sees half a
    file and a link planted at the final path is replaced, not followed."""
    data = {
        "pid": holder.pid,
        "host": holder.host,
        "started_at": holder.started_at.isoformat(),
        "command": holder.command,
        "process_started": holder.process_started,
    }
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)  # a leftover, or a link planted there: never written into
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags | getattr(os, "O_BINARY", 0), _MODE)
    with os.fdopen(fd, "wb") as file:
        file.write((json.dumps(data) + "\n").encode())
    os.replace(temporary, path)


def read_holder(path: Path) -> LockHolder | None:
    """The recorded holder, or None when the file is missing, unreadable, not this account's
    or not a holder record."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as file:
            if not owned_by_this_account(os.fstat(file.fileno())):
                return None  # written by someone else: not a claim to believe
            data = json.loads(file.read(64 * 1024).decode())
        started = data.get("process_started")
        return LockHolder(
            pid=int(data["pid"]),
            host=str(data["host"]),
            started_at=datetime.fromisoformat(str(data["started_at"])),
            command=str(data["command"]),
            process_started=float(started) if started is not None else None,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def owned_by_this_account(status: os.stat_result) -> bool:
    """True when a file (not a link) belongs to this process's account.

    Windows reports no owner in `st_uid` (always 0); the default LOCK_DIR there is inside the
    user's profile, which other standard accounts cannot write to."""
    if sys.platform == "win32":
        return True
    return status.st_uid == os.geteuid() and not stat.S_ISLNK(status.st_mode)
