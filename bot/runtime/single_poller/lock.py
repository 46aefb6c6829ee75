"""One polling process per bot on this machine: an OS file lock in LOCK_DIR.

The lock is filelock's `FileLock` (`flock` on POSIX, `LockFileEx` on Windows), so the kernel
releases it when the holder dies, kill -9 included: no stale lock files to clean up. filelock
creates the file with mode 0600 and opens it without following a link planted at its path;
its fallback to a plain marker file (on a file system without locks) is switched off, since a
marker outlives a killed holder: such a LOCK_DIR is refused with its own message.

Who holds it (pid, host, start time, command line) is written to a file beside it,
`telegram-bot-<bot id>.lock.json` (see `holder.py`): a Windows lock is mandatory, so the locked
file itself cannot be read by anyone else. Only the holder writes that file, after taking the
lock, and removes it before letting go.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from bot.runtime.single_poller.holder import (
    HolderCheck,
    HolderState,
    LockHolder,
    check_holder,
    holder_path,
    owned_by_this_account,
    read_holder,
    this_process,
    write_holder,
)

# A newcomer may find the lock held for a moment by `read_lock_holder` probing it, or find
# the details not written yet: it retries for this long before concluding.
_RETRY_FOR = 0.3
_RETRY_STEP = 0.05
# When the recorded holder no longer runs, its lock is on its way out: Windows releases a
# dead process's locks "depending on available system resources", so wait longer there.
_GONE_HOLDER_WAIT = 3.0 if sys.platform == "win32" else 1.0
_MODE = 0o600
# What flock / LockFileEx answer where the file system has no locks (some network shares,
# some container mounts).
_NO_LOCKS = frozenset({errno.ENOSYS, errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP})


class LockHeld(Exception):
    """Another live process holds the polling lock of this bot."""

    def __init__(self, holder: LockHolder, path: Path, check: HolderCheck) -> None:
        self.holder = holder
        self.path = path
        self.check = check
        super().__init__(f"{path} is held by {holder.describe()} ({holder.command})")


class LockUnusable(Exception):
    """The lock cannot be taken for a reason other than a holder: `problem`, and its `fix`."""

    def __init__(self, path: Path, problem: str, fix: str) -> None:
        self.path = path
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}. {fix[0].upper()}{fix[1:]}.")


def lock_path(lock_dir: Path, bot_id: int) -> Path:
    """Where the lock of one bot lives: `LOCK_DIR/telegram-bot-<bot_id>.lock`."""
    return Path(lock_dir) / f"telegram-bot-{bot_id}.lock"


class InstanceLock:
    """The polling lock of one bot; use as a context manager or acquire()/release()."""

    def __init__(self, lock_dir: Path, bot_id: int) -> None:
        self.path = lock_path(lock_dir, bot_id)
        self.holder: LockHolder = this_process()  # what this process writes when it holds it
        self._lock = _file_lock(self.path, _RETRY_FOR)

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._lock.is_locked

    def acquire(self) -> None:
        """Take the lock and record this process beside it; LockHeld if someone has it,
        LockUnusable when LOCK_DIR or the lock file cannot serve as a lock."""
        if self.held:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise unusable(self.path, exc) from exc
        self._take()
        try:
            write_holder(holder_path(self.path), self.holder)
        except BaseException:
            self._lock.release()
            raise

    def _take(self) -> None:
        gone_until = time.monotonic() + _GONE_HOLDER_WAIT
        while True:
            refuse_foreign_file(self.path)
            try:
                self._lock.acquire()
                return
            except Timeout:
                holder, check = _read_holder_retrying(self.path)
            except OSError as exc:
                raise unusable(self.path, exc) from exc
            # A holder that no longer runs (or never wrote its details) is letting go: try again.
            releasing = check.state in (HolderState.GONE, HolderState.UNKNOWN)
            if not releasing or time.monotonic() >= gone_until:
                raise LockHeld(holder, self.path, check)

    def release(self) -> None:
        """Let the next process in. The lock file stays, so waiters share one inode."""
        if not self.held:
            return
        try:
            holder_path(self.path).unlink(missing_ok=True)
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
    """The process holding the bot's lock right now, or None when the lock is free;
    LockUnusable when the lock file is not this account's."""
    path = lock_path(lock_dir, bot_id)
    if not os.path.lexists(path):
        return None
    refuse_foreign_file(path)
    probe = _file_lock(path, 0)
    try:
        probe.acquire()
    except Timeout:
        return _read_holder_retrying(path)[0]
    except OSError as exc:
        raise unusable(path, exc) from exc
    probe.release()  # it was free: give it straight back
    return None


def refuse_foreign_file(path: Path) -> None:
    """LockUnusable when a link, or a file of another account, sits at the lock's path: such
    a file says nothing about this bot, and following or trusting it could hurt (POSIX)."""
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise unusable(path, exc) from exc
    if owned_by_this_account(status):
        return
    what = "a link" if os.path.islink(path) else f"a file of another account (uid {status.st_uid})"
    raise LockUnusable(
        path,
        f"The polling lock file {path} is {what}, not a lock this account created: someone "
        "who can write to LOCK_DIR put it there, so it says nothing about your bot, and it "
        "was neither followed nor changed",
        "leave LOCK_DIR unset (the default folder is yours alone), or set it to a folder only "
        "you can write to",
    )


def unusable(path: Path, exc: OSError) -> LockUnusable:
    """The message for an OS error other than "already locked" while taking the lock."""
    if exc.errno in _NO_LOCKS:
        return LockUnusable(
            path,
            f"LOCK_DIR ({path.parent}) is on a file system without file locks (a network "
            "share, or a mounted folder of a container or VM), so the polling lock cannot work "
            "there: a lock file without a kernel lock would outlive a crashed bot",
            "set LOCK_DIR to a folder on a local disk, or leave it unset for the per-user default",
        )
    return LockUnusable(
        path,
        f"Cannot take the polling lock {path} ({exc.strerror or exc})",
        "set LOCK_DIR to a folder this account can write to, or leave it unset for the "
        "per-user default",
    )


def _file_lock(path: Path, timeout: float) -> FileLock:
    return FileLock(
        path,
        timeout=timeout,
        mode=_MODE,
        poll_interval=_RETRY_STEP,
        thread_local=False,
        fallback_to_soft=False,  # a marker file is no lock: see the module docstring
    )


def _read_holder_retrying(path: Path) -> tuple[LockHolder, HolderCheck]:
    # The new holder writes its details just after taking the lock: give it a moment.
    deadline = time.monotonic() + _RETRY_FOR
    while True:
        holder = read_holder(holder_path(path))
        check = check_holder(holder) if holder is not None else HolderCheck(HolderState.UNKNOWN)
        fresh = check.state not in (HolderState.GONE, HolderState.UNKNOWN)
        if fresh or time.monotonic() >= deadline:
            break
        time.sleep(_RETRY_STEP)
    if holder is not None:
        return holder, check
    try:
        since = datetime.fromtimestamp(path.stat().st_mtime).astimezone()
    except OSError:
        since = datetime.now().astimezone()
    return LockHolder(pid=0, host="unknown", started_at=since, command="unknown"), check
