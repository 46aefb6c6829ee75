"""One polling process per bot on this machine: an OS file lock in LOCK_DIR.

The lock is filelock's `FileLock` (`flock` on POSIX, `LockFileEx` on Windows), so the kernel
releases it when the holder dies, kill -9 included: no stale lock files to clean up. filelock
creates the file with mode 0600 and opens it without following a link planted at its path.

Who holds it (pid, host, start time, command line) is written to a file beside it,
`telegram-bot-<bot id>.lock.json`: a Windows lock is mandatory, so the locked file itself cannot
be read by anyone else. Only the holder writes that file, after taking the lock, and removes it
before letting go; a reader that finds it missing or naming a dead process waits a moment
for the new holder's details.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

import psutil
from filelock import FileLock, Timeout

# A newcomer may find the lock held for a moment by `read_lock_holder` probing it, or find
# the details not written yet: it retries for this long before concluding.
_RETRY_FOR = 0.3
_RETRY_STEP = 0.05
_MODE = 0o600


@dataclass(frozen=True)
class LockHolder:
    """The process that holds a bot's polling lock."""

    pid: int
    host: str
    started_at: datetime
    command: str

    def describe(self) -> str:
        """`pid 4123 on host dev-laptop, since 2025-01-31 10:02:03`."""
        pid = f"pid {self.pid}" if self.pid else "unknown pid"
        since = self.started_at.strftime("%Y-%m-%d %H:%M:%S")
        return f"{pid} on host {self.host}, since {since}"

    @property
    def on_this_host(self) -> bool:
        """True when the holder runs on this machine (its pid can be checked here)."""
        return self.host == socket.gethostname()


class LockHeld(Exception):
    """Another live process holds the polling lock of this bot."""

    def __init__(self, holder: LockHolder, path: Path) -> None:
        self.holder = holder
        self.path = path
        super().__init__(f"{path} is held by {holder.describe()} ({holder.command})")


def lock_path(lock_dir: Path, bot_id: int) -> Path:
    """Where the lock of one bot lives: `LOCK_DIR/telegram-bot-<bot_id>.lock`."""
    return Path(lock_dir) / f"telegram-bot-{bot_id}.lock"


def _holder_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


class InstanceLock:
    """The polling lock of one bot; use as a context manager or acquire()/release()."""

    def __init__(self, lock_dir: Path, bot_id: int) -> None:
        self.path = lock_path(lock_dir, bot_id)
        self.holder: LockHolder = _this_process()  # what this process writes when it holds it
        self._lock = FileLock(
            self.path, timeout=_RETRY_FOR, mode=_MODE, poll_interval=_RETRY_STEP, thread_local=False
        )

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._lock.is_locked

    def acquire(self) -> None:
        """Take the lock and record this process beside it; LockHeld if someone has it."""
        if self.held:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout:
            raise LockHeld(_read_holder_retrying(self.path), self.path) from None
        try:
            _write_holder(_holder_path(self.path), self.holder)
        except BaseException:
            self._lock.release()
            raise

    def release(self) -> None:
        """Let the next process in. The lock file stays, so waiters share one inode."""
        if not self.held:
            return
        try:
            _holder_path(self.path).unlink(missing_ok=True)
        finally:
            self._lock.release()

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def read_lock_holder(lock_dir: Path, bot_id: int) -> LockHolder | None:
    """The process holding the bot's lock right now, or None when the lock is free."""
    path = lock_path(lock_dir, bot_id)
    if not path.exists():
        return None
    probe = FileLock(path, timeout=0, mode=_MODE, thread_local=False)
    try:
        probe.acquire()
    except Timeout:
        return _read_holder_retrying(path)
    probe.release()  # it was free: give it straight back
    return None


def _this_process() -> LockHolder:
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    return LockHolder(
        pid=os.getpid(),
        host=socket.gethostname(),
        started_at=datetime.now().astimezone().replace(microsecond=0),
        command=command[:1000],
    )


def _write_holder(path: Path, holder: LockHolder) -> None:
    data = {
        "pid": holder.pid,
        "host": holder.host,
        "started_at": holder.started_at.isoformat(),
        "command": holder.command,
    }
    # Written aside and renamed into place: a reader never sees half a file, and a link
    # planted at the final path is replaced, not followed.
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags | getattr(os, "O_BINARY", 0), _MODE)
    with os.fdopen(fd, "wb") as file:
        file.write((json.dumps(data) + "\n").encode())
    os.replace(temporary, path)


def _read_holder_retrying(path: Path) -> LockHolder:
    # The new holder writes its details just after taking the lock: give it a moment.
    deadline = time.monotonic() + _RETRY_FOR
    while True:
        holder = _read_holder(_holder_path(path))
        fresh = holder is not None and (not holder.on_this_host or psutil.pid_exists(holder.pid))
        if fresh or time.monotonic() >= deadline:
            break
        time.sleep(_RETRY_STEP)
    if holder is not None:
        return holder
    try:
        since = datetime.fromtimestamp(path.stat().st_mtime).astimezone()
    except OSError:
        since = datetime.now().astimezone()
    return LockHolder(pid=0, host="unknown", started_at=since, command="unknown")


def _read_holder(path: Path) -> LockHolder | None:
    try:
        with open(path, encoding="utf-8") as file:
            data = json.loads(file.read(64 * 1024))
        return LockHolder(
            pid=int(data["pid"]),
            host=str(data["host"]),
            started_at=datetime.fromisoformat(str(data["started_at"])),
            command=str(data["command"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
