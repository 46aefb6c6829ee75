"""Real programs (the bot, gunicorn, nginx) to start, watch and stop, and their env files."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

from bot.settings import env_names

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A loopback TCP port that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_env_file(path: Path, values: Mapping[str, object]) -> Path:
    """Write a `.env`-style file; the tests pass it with --env-file so a developer's own
    `.env.local` never leaks into a test."""
    # copier: if database
    # A bot's database beside its env file (the test's folder), never the project's data/.
    values = {"DATABASE_URL": f"sqlite+aiosqlite:///{path.parent / 'bot.sqlite3'}", **values}
    # copier: endif
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return path


# Every Program started in this test session, so that none outlives it (`kill_leftovers`).
STARTED: list[Program] = []


def kill_leftovers(programs: Sequence[Program] | None = None) -> list[str]:
    """SIGKILL every Program of the session (or of `programs`) still running, with its
    children: a test stopped by its timeout may not have reached its own `stop()`. Returns
    which were killed."""
    killed = []
    for program in STARTED if programs is None else programs:
        if program.proc is None or program.proc.returncode is not None:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError, psutil.Error):
            if sys.platform == "win32":  # no process groups: the tree as it stands now
                for child in psutil.Process(program.proc.pid).children(recursive=True):
                    child.kill()
                program.proc.kill()
            else:
                os.killpg(program.proc.pid, signal.SIGKILL)  # its own session: the whole group
            # Its name and pid only: an argument may be a (test) password.
            killed.append(f"{Path(program.argv[0]).name} (pid {program.proc.pid})")
    if programs is None:
        STARTED.clear()
    return killed


class Program:
    """A subprocess in its own session, its stdout and stderr collected line by line."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path = ROOT) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.cwd = cwd
        self.lines: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._changed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> Program:
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its workers can be killed as a group if it hangs
        )
        self._reader = asyncio.create_task(self._read())
        STARTED.append(self)
        return self

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            self._changed.set()
        self._changed.set()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def count(self, needle: str) -> int:
        return sum(needle in line for line in self.lines)

    async def wait_for_lines(self, needle: str, count: int = 1, timeout: float = 60.0) -> None:
        """Until `count` output lines contain `needle`; fails if the program exits first."""
        async with asyncio.timeout(timeout):
            while self.count(needle) < count:
                if self._reader is not None and self._reader.done():
                    raise AssertionError(f"{self.argv[0]} exited before {needle!r}:\n{self.output}")
                self._changed.clear()
                await self._changed.wait()

    def send_signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    async def wait(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        async with asyncio.timeout(timeout):
            code = await self.proc.wait()
            if self._reader is not None:
                await self._reader
        return code

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        """Make sure it and its children are gone (SIGKILL to the group if it does not stop)."""
        if self.proc is None:
            return
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), 30)
        if sys.platform == "win32":  # no process groups to kill: the process itself
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # leftover children, if any
        await self.proc.wait()
        if self._reader is not None:
            await self._reader


class BotProcess(Program):
    """`python run.py ...` as a subprocess, with its output collected line by line."""

    def __init__(self, *args: str, env: Mapping[str, str] | None = None) -> None:
        # The bot's own variables are dropped from the inherited environment: a developer's
        # exported BOT_TOKEN must not override the test's env file.
        inherited = {k: v for k, v in os.environ.items() if k not in env_names()}
        super().__init__(
            [sys.executable, str(ROOT / "run.py"), *args],
            {**inherited, "PYTHONUNBUFFERED": "1", **(env or {})},
        )

    async def wait_for_line(self, needle: str, timeout: float = 30.0) -> str:
        """The first output line containing `needle`; fails if the process exits first."""
        await self.wait_for_lines(needle, 1, timeout)
        return next(line for line in self.lines if needle in line)
