"""One polling process per bot on this machine: an OS file lock in LOCK_DIR.

The lock is taken with `fcntl.flock` (POSIX) or `msvcrt.locking` (Windows), so the kernel
releases it when the holder dies, kill -9 included: there are no stale lock files to clean up.
The holder writes its pid, host, start time and command line into the locked file, so the
next process can say who is in the way. The file is never deleted: deleting it on release
would race with a newcomer that has just opened (and locked) the old file.
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

# Windows locks are mandatory: a locked byte range cannot be read by anyone else. The lock
# therefore covers one byte far beyond the holder information, which stays readable.
# (Locking beyond the end of a file is allowed and does not grow it.) POSIX flock locks the
# whole file and is advisory, so reading is never blocked there.
_WINDOWS_LOCK_OFFSET = 1 << 30
# A newcomer may find the lock held for a moment by `read_lock_holder` probing it, or find
# the information not written yet: retry briefly before concluding.
_RETRY_FOR = 0.3
_RETRY_STEP = 0.05


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


class LockHeld(Exception):
    """Another live process holds the polling lock of this bot."""

    def __init__(self, holder: LockHolder, path: Path) -> None:
        self.holder = holder
        self.path = path
        super().__init__(f"{path} is held by {holder.describe()} ({holder.command})")


def lock_path(lock_dir: Path, bot_id: int) -> Path:
    """Where the lock of one bot lives: `LOCK_DIR/tg-bot-<bot_id>.lock`."""
    return Path(lock_dir) / f"tg-bot-{bot_id}.lock"


class InstanceLock:
    """The polling lock of one bot; use as a context manager or acquire()/release()."""

    def __init__(self, lock_dir: Path, bot_id: int) -> None:
        self.path = lock_path(lock_dir, bot_id)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock and record this process in it; raise LockHeld if someone has it."""
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_BINARY (Windows only): no newline translation in the information written.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
        try:
            deadline = time.monotonic() + _RETRY_FOR
            while not _try_lock(fd):
                if time.monotonic() >= deadline:
                    raise LockHeld(_read_holder_retrying(self.path), self.path)
                time.sleep(_RETRY_STEP)
            _write_info(fd, _this_process())
        except BaseException:
            os.close(fd)  # closing also drops the lock if it was taken
            raise
        self._fd = fd

    def release(self) -> None:
        """Let the next process in. The file stays (see the module docstring)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)  # the information is stale from now on
            _unlock(fd)
        finally:
            os.close(fd)

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
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if _try_lock(fd, shared=True):  # free: give it straight back
            _unlock(fd)
            return None
    finally:
        os.close(fd)
    return _read_holder_retrying(path)


def _this_process() -> LockHolder:
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    return LockHolder(
        pid=os.getpid(),
        host=socket.gethostname(),
        started_at=datetime.now().astimezone().replace(microsecond=0),
        command=command[:1000],
    )


def _write_info(fd: int, holder: LockHolder) -> None:
    data = {
        "pid": holder.pid,
        "host": holder.host,
        "started_at": holder.started_at.isoformat(),
        "command": holder.command,
    }
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, (json.dumps(data) + "\n").encode())


def _read_holder_retrying(path: Path) -> LockHolder:
    # The holder writes its information just after taking the lock: give it a moment.
    deadline = time.monotonic() + _RETRY_FOR
    while True:
        holder = _read_holder(path)
        if holder is not None or time.monotonic() >= deadline:
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


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int, shared: bool = False) -> bool:
        # Windows has no shared variant worth using here: a probe locks exclusively.
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        finally:
            os.lseek(fd, 0, os.SEEK_SET)
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        finally:
            os.lseek(fd, 0, os.SEEK_SET)

else:
    import fcntl

    def _try_lock(fd: int, shared: bool = False) -> bool:
        # A probe locks shared: it works on a read-only descriptor.
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
