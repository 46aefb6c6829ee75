"""The bot process a `--reload` supervisor runs: started in a process group of its own, stopped
the way Ctrl+C stops it, and its whole group ended afterwards.

A group of its own, because a terminal's Ctrl+C goes to every process of the foreground
group: the bot would get it once from the terminal and once more from the supervisor, and a
second stop request abandons running handlers. So only the supervisor receives Ctrl+C, and it
passes one stop on: SIGINT to the group on POSIX, CTRL_BREAK_EVENT on Windows (the one console
event a process group of its own can receive; `bot.runtime.stop_signals` takes SIGBREAK as a
stop).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import psutil

# Windows' values, named here so that this module (and its tests) load on every system.
CREATE_NEW_PROCESS_GROUP = 0x00000200
CTRL_BREAK_EVENT = 1
# How often the supervisor looks whether a starting bot polls yet.
READY_CHECK_INTERVAL = 0.1


def spawn_options(platform: str = sys.platform) -> dict[str, Any]:
    """`subprocess` arguments that start the bot in a process group of its own."""
    if platform == "win32":
        return {"creationflags": CREATE_NEW_PROCESS_GROUP}
    return {"process_group": 0}


def send_stop(
    pid: int, platform: str = sys.platform, kill: Callable[[int, int], None] = os.kill
) -> None:
    """Ask the bot's process group to stop as Ctrl+C does; `kill` is `os.kill` or a test's."""
    if platform == "win32":
        # os.kill with a console event signals the whole process group `pid` leads.
        kill(pid, CTRL_BREAK_EVENT)
    else:
        kill(-pid, signal.SIGINT)  # a negative pid: the whole process group


class BotChild:
    """One run of the bot under the supervisor."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], ready_file: Path) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.ready_file = ready_file
        self.process: asyncio.subprocess.Process | None = None
        self._stops = 0
        self._members: list[psutil.Process] = []

    @property
    def pid(self) -> int:
        """The bot's process id."""
        assert self.process is not None, "not started"
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        """Its exit code once it ended, else None."""
        return None if self.process is None else self.process.returncode

    @property
    def started(self) -> bool:
        """True once the bot process exists."""
        return self.process is not None

    async def start(self) -> None:
        """Start the bot; it shares the supervisor's terminal (stdout and stderr)."""
        self.ready_file.unlink(missing_ok=True)
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, env=self.env, stdin=subprocess.DEVNULL, **spawn_options()
        )

    async def wait(self) -> int:
        """Until the bot exits; its exit code."""
        assert self.process is not None, "not started"
        return await self.process.wait()

    async def wait_polling(self) -> bool:
        """Until the bot polls (True) or exits first (False)."""
        while self.returncode is None:
            if self._reported_polling():
                return True
            await asyncio.sleep(READY_CHECK_INTERVAL)
        return False

    def _reported_polling(self) -> bool:
        # Its presence is the report: the file is this run's own. Not compared with our pid:
        # on Windows a virtualenv's python.exe is a launcher, and the bot is its child.
        return self.ready_file.is_file()

    def request_stop(self) -> None:
        """Ask it to stop as Ctrl+C does: running handlers get SHUTDOWN_TIMEOUT to finish."""
        if not self.stop_requested:
            self._send_stop()

    def abandon(self) -> None:
        """A second stop, as a second Ctrl+C: it stops without waiting for its handlers."""
        self._send_stop()

    @property
    def stop_requested(self) -> bool:
        """True once it was asked to stop."""
        return self._stops > 0

    def _send_stop(self) -> None:
        if not self.started or self.returncode is not None:
            return
        self._stops += 1
        self._note_members()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            send_stop(self.pid)

    async def stop(self, grace: float) -> int:
        """Stop it gracefully, end its group after `grace` seconds, and wait; its exit code."""
        self.request_stop()
        try:
            code = await asyncio.wait_for(self.wait(), grace)
        except TimeoutError:
            self.end_group()
            code = await self.wait()
        self.end_group()  # whatever it started and left behind
        return code

    def end_group(self) -> None:
        """Kill the bot and every process it started, whether it still runs or not."""
        if not self.started:
            return
        self._note_members()
        if sys.platform != "win32":
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        for member in self._members:
            with contextlib.suppress(psutil.Error):
                member.kill()
        self._members = []

    def _note_members(self) -> None:
        # Its children, while they can still be found through it: once it has exited they
        # belong to no one (on Windows nothing else finds them).
        if self.returncode is not None:
            return
        with contextlib.suppress(psutil.Error):
            parent = psutil.Process(self.pid)
            known = {member.pid for member in self._members}
            found = [parent, *parent.children(recursive=True)]
            self._members += [member for member in found if member.pid not in known]
