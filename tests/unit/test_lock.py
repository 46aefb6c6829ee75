"""The per-bot polling lock: one holder, who it is, and nothing left behind."""

from __future__ import annotations

import os
import socket
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.polling.lock import InstanceLock, LockHeld, read_lock_holder


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
