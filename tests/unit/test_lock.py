"""The per-bot polling lock: one holder, who it is, and nothing left behind."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.polling.process import lock_held_message
from bot.runtime.single_poller.holder import (
    HolderState,
    check_holder,
    holder_path,
    read_holder,
    stop_advice,
)
from bot.runtime.single_poller.lock import (
    InstanceLock,
    LockHeld,
    LockUnusable,
    lock_path,
    read_lock_holder,
    unusable,
)
from bot.settings import load_settings
from tests.helpers.constants import TOKEN
from tests.helpers.lock_holders import bot_holding_lock, forged_details, planted_lock

posix_flock = pytest.mark.skipif(sys.platform == "win32", reason="plants a lock with fcntl.flock")


def test_the_holder_is_readable_with_pid_host_start_time_and_command(tmp_path: Path) -> None:
    with InstanceLock(tmp_path, 42) as lock:
        holder = read_lock_holder(tmp_path, 42)
        assert lock.path == tmp_path / "telegram-bot-42.lock"

    assert holder is not None
    assert holder.pid == os.getpid()
    assert holder.host == socket.gethostname()
    assert abs(datetime.now().astimezone() - holder.started_at) < timedelta(minutes=1)
    assert Path(sys.argv[0]).name in holder.command


def test_a_second_lock_for_the_same_bot_is_refused_naming_the_holder(tmp_path: Path) -> None:
    with InstanceLock(tmp_path, 42), pytest.raises(LockHeld) as refused:
        InstanceLock(tmp_path, 42).acquire()
    assert refused.value.holder.pid == os.getpid()
    assert f"pid {os.getpid()} on host {socket.gethostname()}" in refused.value.holder.describe()


def test_after_release_the_lock_is_free_and_the_file_stays(tmp_path: Path) -> None:
    lock = InstanceLock(tmp_path, 42)
    lock.acquire()
    lock.release()

    if sys.platform != "win32":  # filelock removes it there, where no inode is shared
        assert lock.path.exists()  # deleting it would race with a newcomer
    assert read_lock_holder(tmp_path, 42) is None
    with InstanceLock(tmp_path, 42):
        pass


def test_locks_of_different_bots_do_not_interfere(tmp_path: Path) -> None:
    with InstanceLock(tmp_path, 1), InstanceLock(tmp_path, 2):
        assert read_lock_holder(tmp_path, 1) is not None
        assert read_lock_holder(tmp_path, 2) is not None


def test_no_lock_file_means_no_holder(tmp_path: Path) -> None:
    assert read_lock_holder(tmp_path / "never-created", 42) is None


def test_the_lock_folder_is_created_when_missing(tmp_path: Path) -> None:
    with InstanceLock(tmp_path / "a" / "b", 42) as lock:
        assert lock.held


# -- a holder that is gone, and what is said about a holder --------------------------------


def dead_pid() -> int:
    """The pid of a process that has ended."""
    with subprocess.Popen([sys.executable, "-c", "pass"]) as process:
        process.wait()
    return process.pid


def release_later(fd: int, seconds: float) -> threading.Timer:
    """Close `fd` after `seconds`: a kernel letting go of a dead holder's lock late."""
    timer = threading.Timer(seconds, os.close, (fd,))
    timer.start()
    return timer


@posix_flock
@pytest.mark.parametrize("details", ["a dead pid", "none"])
def test_a_lock_whose_holder_is_gone_is_taken_once_the_kernel_lets_go(
    tmp_path: Path, details: str
) -> None:
    # Covers a holder killed a moment ago (Windows frees its lock "depending on available
    # system resources") and a newcomer that missed the holder's release by a few ms.
    import fcntl

    path = lock_path(tmp_path, 42)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    if details == "a dead pid":
        holder_path(path).write_text(json.dumps(forged_details(dead_pid())))
    timer = release_later(fd, 0.5)  # past the 0.3 s a held lock is retried for

    with InstanceLock(tmp_path, 42) as lock:
        assert lock.held
        assert read_holder(holder_path(path)) == lock.holder
    timer.join()


@posix_flock
def test_forged_holder_details_get_no_advice_to_stop_the_process_they_name(
    tmp_path: Path,
) -> None:
    # This test process is alive, and its command line is not a bot's.
    with (
        planted_lock(tmp_path, 42, forged_details(os.getpid())),
        pytest.raises(LockHeld) as refused,
    ):
        InstanceLock(tmp_path, 42).acquire()

    message = lock_held_message(refused.value, "@my_bot")
    assert f"pid {os.getpid()} is not this bot's process" in message
    assert "kill" not in message
    assert refused.value.check.state is HolderState.OTHER


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root")
def test_a_lock_file_of_another_account_is_refused_and_left_alone(tmp_path: Path) -> None:
    with planted_lock(tmp_path, 42, forged_details(1)) as planted:
        os.chown(planted, 65534, 65534)  # nobody's, as if another user had planted it
        os.chown(holder_path(planted), 65534, 65534)
        with pytest.raises(LockUnusable) as refused:
            InstanceLock(tmp_path, 42).acquire()

    assert "a file of another account (uid 65534)" in str(refused.value)
    assert "kill" not in str(refused.value)
    assert planted.stat().st_uid == 65534 and planted.read_bytes() == b""


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges there")
def test_links_planted_at_the_lock_paths_are_neither_followed_nor_written_through(
    tmp_path: Path,
) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    path = lock_path(tmp_path, 42)
    path.symlink_to(precious)
    with pytest.raises(LockUnusable) as refused:
        InstanceLock(tmp_path, 42).acquire()
    assert "is a link" in str(refused.value)

    path.unlink()
    details = holder_path(path)
    details.symlink_to(precious)
    details.with_name(f"{details.name}.{os.getpid()}.tmp").symlink_to(precious)
    with InstanceLock(tmp_path, 42) as lock:
        assert not details.is_symlink()
        assert read_holder(details) == lock.holder
    assert precious.read_text() == "keep me"


def test_a_holder_renamed_by_the_network_is_still_this_machines_when_its_pid_runs_here(
    tmp_path: Path,
) -> None:
    # macOS renames the host when the network changes: the recorded name is then stale.
    with bot_holding_lock(tmp_path / "locks", 42, tmp_path / "bot"):
        holder = read_lock_holder(tmp_path / "locks", 42)
        assert holder is not None
        renamed = dataclasses.replace(holder, host="old-name.local")
        assert check_holder(holder).state is HolderState.BOT
        assert check_holder(renamed).state is HolderState.BOT
        reused = dataclasses.replace(renamed, process_started=holder.process_started - 60)
        assert check_holder(reused).state is HolderState.ELSEWHERE


@pytest.mark.parametrize(
    ("platform", "said", "not_said"),
    [
        ("win32", "`taskkill /F /PID 4123` (a hard kill", "`kill 4123`"),
        ("linux", "`kill 4123` (both graceful)", "taskkill"),
        ("darwin", "`kill 4123` (both graceful)", "taskkill"),
    ],
)
def test_the_advice_to_stop_a_bot_names_this_platforms_command(
    platform: str, said: str, not_said: str
) -> None:
    advice = stop_advice(4123, platform)
    assert "Ctrl+C in its terminal" in advice
    assert said in advice
    assert not_said not in advice


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (OSError(errno.ENOSYS, "Function not implemented"), "file system without file locks"),
        (OSError(errno.ENOLCK, "No locks available"), "file system without file locks"),
        (PermissionError(errno.EACCES, "Permission denied"), "(Permission denied)"),
    ],
)
def test_an_os_error_other_than_already_locked_is_not_reported_as_a_holder(
    tmp_path: Path, error: OSError, said: str
) -> None:
    problem = unusable(lock_path(tmp_path, 42), error)
    assert said in str(problem)
    assert "LOCK_DIR" in str(problem)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_the_lock_its_details_and_a_new_lock_folder_are_this_accounts_alone(
    tmp_path: Path,
) -> None:
    with InstanceLock(tmp_path / "locks", 42) as lock:
        modes = {
            path.name: stat.S_IMODE(path.stat().st_mode)
            for path in (lock.path.parent, lock.path, holder_path(lock.path))
        }
    assert modes == {
        "locks": 0o700,
        "telegram-bot-42.lock": 0o600,
        "telegram-bot-42.lock.json": 0o600,
    }


def test_the_default_lock_folder_is_not_the_shared_temp_folder(tmp_path: Path) -> None:
    # Anyone can create files in /tmp: a lock planted there made run.py advise `kill 1`.
    settings = load_settings(overrides={"BOT_TOKEN": TOKEN}, root=tmp_path, environment=False)
    assert settings.lock_dir != Path(tempfile.gettempdir())
    assert settings.lock_dir.name == "telegram-bot"
