"""How the reloader ends a bot: as Ctrl+C does, then its whole process group, whether the bot
stops in time or hangs, so nothing it started outlives a restart."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import psutil
import pytest

from bot.reload.child import BotChild

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")

# A "bot" that starts a helper process which ignores Ctrl+C, writes the helper's pid, and then
# either stops on Ctrl+C (exit 0) or ignores it too (a hung bot).
BOT = """
import signal, subprocess, sys, time
helper = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(300)"
started = subprocess.Popen([sys.executable, "-c", helper])
if sys.argv[2] == "hang":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
open(sys.argv[1], "w").write(str(started.pid))
try:
    time.sleep(300)
except KeyboardInterrupt:
    sys.exit(0)
"""


async def _helper_pid(path: Path, child: BotChild) -> int:
    async with asyncio.timeout(60):
        while not path.exists() or not path.read_text():
            assert child.returncode is None, "the bot exited early"
            await asyncio.sleep(0.05)
    return int(path.read_text())


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize(("behaviour", "code"), [("stops", 0), ("hang", -9)])
async def test_stop_ends_the_bot_and_everything_it_started(
    tmp_path: Path, behaviour: str, code: int
) -> None:
    pid_file = tmp_path / "helper.pid"
    argv = [sys.executable, "-c", BOT, str(pid_file), behaviour]
    child = BotChild(argv, dict(os.environ), tmp_path / "polling")
    await child.start()
    helper = await _helper_pid(pid_file, child)
    try:
        assert await child.stop(grace=1.0) == code  # a hung bot is killed after the grace
        async with asyncio.timeout(10):  # reaped by init a moment after the kill
            while _alive(helper):
                await asyncio.sleep(0.05)
    finally:
        child.end_group()
        if _alive(helper):
            psutil.Process(helper).kill()
