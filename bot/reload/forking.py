"""The supervisor's side of the warm parent (`bot/reload/warm_parent.py`): start it, ask it for
a bot per restart, learn when that bot exits, and replace it when the runtime itself changed.

The supervisor has threads (the file watcher) and an event loop, so it never forks; the warm
parent, a process of its own with neither, does. Used on POSIX unless `BOT_RELOAD_FORK=0`;
elsewhere every bot is a fresh interpreter (`bot/reload/child.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.reload.child import BotChild, spawn_options
from bot.reload.warm_parent import WARM_PARENT_VARIABLE

# `BOT_RELOAD_FORK=0`: every restart in a fresh interpreter, as before the warm parent (the
# fallback, and the baseline of bench/reload.py).
FORK_VARIABLE = "BOT_RELOAD_FORK"
# Seconds the warm parent gets to exit once told to, before it is killed.
CLOSE_GRACE = 5.0


def fork_available(environment: Mapping[str, str] = os.environ) -> bool:
    """True when bots are forked from a warm parent: POSIX, and not switched off."""
    return hasattr(os, "fork") and environment.get(FORK_VARIABLE, "1") != "0"


class WarmParent:
    """One warm parent process: started with the bot's command line, it forks bots on request."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = list(argv)
        self.process: asyncio.subprocess.Process | None = None
        self.exit_code: int | None = None  # once it is gone: its own exit code
        self._ready = asyncio.Event()
        self._gone = asyncio.Event()
        self._started: asyncio.Queue[int] = asyncio.Queue()
        self._exits: dict[int, asyncio.Future[int]] = {}
        self._reading: asyncio.Task[None] | None = None
        self._orphans: set[asyncio.Task[None]] = set()

    async def start(self) -> bool:
        """Start it and wait until it has imported the runtime; False when it failed to (its
        error is on the terminal, and `exit_code` says how it ended)."""
        read_end, write_end = os.pipe()
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv,
                env={**os.environ, WARM_PARENT_VARIABLE: str(write_end)},
                stdin=subprocess.PIPE,
                pass_fds=(write_end,),
                **spawn_options(),  # its own group: a terminal's Ctrl+C is the supervisor's
            )
        finally:
            os.close(write_end)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        pipe = os.fdopen(read_end, "rb", 0)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
        self._reading = asyncio.create_task(self._read(reader))
        ready = asyncio.ensure_future(self._ready.wait())
        gone = asyncio.ensure_future(self._gone.wait())
        await asyncio.wait({ready, gone}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        gone.cancel()
        return self.alive

    @property
    def alive(self) -> bool:
        """True while it can fork bots."""
        return self._ready.is_set() and not self._gone.is_set()

    @property
    def gone(self) -> bool:
        """True once the process has exited (or failed to import the runtime)."""
        return self._gone.is_set()

    async def fork(self, environment: Mapping[str, str]) -> int | None:
        """A new bot with `environment`; its pid, or None when the warm parent is gone."""
        if not self.alive or self.process is None or self.process.stdin is None:
            return None
        self.process.stdin.write(json.dumps(dict(environment)).encode() + b"\n")
        with contextlib.suppress(ConnectionError):
            await self.process.stdin.drain()
        started = asyncio.ensure_future(self._started.get())
        gone = asyncio.ensure_future(self._gone.wait())
        await asyncio.wait({started, gone}, return_when=asyncio.FIRST_COMPLETED)
        gone.cancel()
        if not started.done():
            started.cancel()
            return None
        pid = started.result()
        self._exits.setdefault(pid, asyncio.get_running_loop().create_future())
        return pid

    async def wait_exit(self, pid: int) -> int:
        """Until bot `pid` exits; its exit code (negative: killed by that signal)."""
        return await asyncio.shield(self._exits[pid])

    async def close(self) -> None:
        """Tell it to exit (its stdin ends), and kill it if it does not."""
        if self.process is None:
            return
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), CLOSE_GRACE)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
        if self._reading is not None:
            await self._reading

    async def _read(self, reader: asyncio.StreamReader) -> None:
        loop = asyncio.get_running_loop()
        while line := (await reader.readline()).decode():
            word, _, rest = line.strip().partition(" ")
            if word == "ready":
                self._ready.set()
            elif word == "started":
                self._started.put_nowait(int(rest))
            elif word == "exited":
                pid, code = map(int, rest.split())
                future = self._exits.setdefault(pid, loop.create_future())
                if not future.done():
                    future.set_result(code)
            elif word == "refused":
                print(f"Reload: the warm parent {rest}; restarting it.", file=sys.stderr)
        assert self.process is not None
        self.exit_code = await self.process.wait()
        self._gone.set()
        # Its bots (if one still runs, it was orphaned) are waited for by their pid.
        for pid, future in self._exits.items():
            if not future.done():
                self._orphans.add(loop.create_task(_wait_orphan(pid, future)))


async def _wait_orphan(pid: int, future: asyncio.Future[int]) -> None:
    import psutil

    with contextlib.suppress(psutil.NoSuchProcess):
        await asyncio.to_thread(psutil.Process(pid).wait)
    if not future.done():
        future.set_result(1)  # its code went with the warm parent: report a failure


class ForkedChild(BotChild):
    """One run of the bot, forked by the warm parent instead of started as a program."""

    def __init__(self, parent: WarmParent, env: Mapping[str, str], ready_file: Path) -> None:
        super().__init__(parent.argv, env, ready_file)
        self.parent = parent
        self._pid: int | None = None
        self._code: int | None = None

    @property
    def started(self) -> bool:
        """True once the bot process exists."""
        return self._pid is not None

    @property
    def pid(self) -> int:
        """The bot's process id."""
        assert self._pid is not None, "not started"
        return self._pid

    @property
    def returncode(self) -> int | None:
        """Its exit code once it ended, else None."""
        return self._code

    async def start(self) -> None:
        """Fork the bot; when the warm parent cannot (it failed to import the runtime), this
        run counts as exited with the warm parent's code, and waits for the next change."""
        self.ready_file.unlink(missing_ok=True)
        if self.parent.process is None:
            await self.parent.start()
        if not self.parent.alive:
            self._code = self.parent.exit_code if self.parent.exit_code is not None else 1
            return
        self._pid = await self.parent.fork(self.env)
        if self._pid is None:
            self._code = 1
            return
        self._waiting = asyncio.create_task(self._collect(self._pid))

    async def _collect(self, pid: int) -> None:
        self._code = await self.parent.wait_exit(pid)

    async def wait(self) -> int:
        """Until the bot exits; its exit code."""
        if self._code is None:
            await asyncio.shield(self._waiting)
        assert self._code is not None
        return self._code
