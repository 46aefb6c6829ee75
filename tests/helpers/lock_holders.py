"""Processes that hold a polling lock: a bot-like one, and the pieces of a planted lock."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from bot.runtime.single_poller.holder import holder_path
from bot.runtime.single_poller.lock import lock_path
from tests.helpers.processes import ROOT

# A `run.py` of its own: its command line reads as a bot's, as a real poller's does.
HOLDER = """
import sys, time
from pathlib import Path
from bot.runtime.single_poller.lock import InstanceLock
lock = InstanceLock(Path(sys.argv[1]), int(sys.argv[2]))
lock.acquire()
print("locked", flush=True)
time.sleep(600)
"""


@contextlib.contextmanager
def bot_holding_lock(lock_dir: Path, bot_id: int, folder: Path) -> Iterator[subprocess.Popen[str]]:
    """A process `python <folder>/run.py` that holds the bot's lock until the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "run.py"
    script.write_text(HOLDER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, str(script), str(lock_dir), str(bot_id)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline() == "locked\n"
            yield process
        finally:
            process.kill()
            process.wait()


@contextlib.contextmanager
def planted_lock(lock_dir: Path, bot_id: int, details: dict[str, object] | None) -> Iterator[Path]:
    """A lock file held with a *shared* flock (which blocks an exclusive one) and, unless
    None, forged holder details: what someone who can write to LOCK_DIR could leave there."""
    import fcntl  # POSIX only: the tests that plant a lock skip on Windows

    lock_dir.mkdir(parents=True, exist_ok=True)
    path = lock_path(lock_dir, bot_id)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        if details is not None:
            holder_path(path).write_text(json.dumps(details))
        yield path
    finally:
        os.close(fd)


def forged_details(pid: int) -> dict[str, object]:
    """Holder details as a forger writes them: a pid, a plausible host and start time."""
    return {
        "pid": pid,
        "host": socket.gethostname(),
        "started_at": datetime.now().astimezone().isoformat(),
        "command": "python run.py",
    }
