"""Helpers shared by the tests: a real bot process to start, watch and stop."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Mapping
from pathlib import Path

from bot.config import KNOWN_KEYS

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A loopback TCP port that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_env_file(path: Path, values: Mapping[str, object]) -> Path:
    """Write a `.env`-style file; the tests pass it with --env-file so a developer's own
    `.env.local` never leaks into a test."""
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return path


class BotProcess:
    """`python run.py ...` as a subprocess, with its stderr collected line by line."""

    def __init__(self, *args: str, env: Mapping[str, str] | None = None) -> None:
        self.args = args
        # The bot's own variables are dropped from the inherited environment: a developer's
        # exported BOT_TOKEN must not override the test's env file.
        inherited = {k: v for k, v in os.environ.items() if k not in KNOWN_KEYS}
        self.env = {**inherited, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.lines: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._changed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> BotProcess:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "run.py"),
            *self.args,
            cwd=ROOT,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read())
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

    async def wait_for_line(self, needle: str, timeout: float = 30.0) -> str:
        """The first output line containing `needle`; fails if the process exits first."""
        async with asyncio.timeout(timeout):
            while True:
                for line in self.lines:
                    if needle in line:
                        return line
                assert self.proc is not None
                if self._reader is not None and self._reader.done():
                    raise AssertionError(f"process exited before {needle!r}:\n{self.output}")
                self._changed.clear()
                await self._changed.wait()

    async def wait(self, timeout: float = 60.0) -> int:
        """Wait for the exit code (output fully read)."""
        assert self.proc is not None
        async with asyncio.timeout(timeout):
            code = await self.proc.wait()
            if self._reader is not None:
                await self._reader
        return code

    def send_signal(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    async def stop(self) -> None:
        """Make sure the process is gone (SIGKILL if it does not stop on SIGTERM)."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            await self._reader
