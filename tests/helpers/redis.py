"""A real redis-server for a test: its own port on loopback, its own folder, nothing saved."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.settings import Settings
from tests.helpers.processes import Program, free_port

# The first part of every key, REDIS_KEY_PREFIX's default.
KEY_PREFIX: str = Settings.model_fields["redis_key_prefix"].default


def find_redis_server() -> str:
    """The redis-server binary, or skip the test naming the Debian package."""
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found is None:
        pytest.skip("redis-server is not installed (Debian package `redis-server`)")
    return found


class RedisServer:
    """redis-server in the foreground; `stop()` and `start()` again keep the same port."""

    def __init__(self, directory: Path, password: str | None = None) -> None:
        self.binary = find_redis_server()
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.password = password
        self.program: Program | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    async def start(self) -> RedisServer:
        args = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
        ]  # fmt: skip
        if self.password:
            args += ["--requirepass", self.password]
        self.program = await Program(args, {}).start()
        await self.program.wait_for_lines("Ready to accept connections", timeout=20)
        return self

    async def stop(self) -> None:
        if self.program is not None:
            await self.program.stop()
            self.program = None

    def client(self) -> aioredis.Redis:
        """A client for the test's own look at the keys."""
        return aioredis.Redis.from_url(self.url)


class CuttableLink:
    """A TCP relay on loopback to a server, which the test can cut and restore: a network
    partition between one process and Redis, while the others still reach it."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> CuttableLink:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        return self

    def url(self, password: str | None = None) -> str:
        auth = f":{password}@" if password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    async def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def restore(self) -> None:
        await self.start()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.transport.abort()
