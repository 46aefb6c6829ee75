"""A real redis-server for a test: its own port on loopback, its own folder, nothing saved."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.helpers.processes import Program, free_port


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
