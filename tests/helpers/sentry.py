"""A fake Sentry collector on loopback: receives what sentry-sdk sends, never the network."""

from __future__ import annotations

import asyncio
import json
from types import TracebackType
from typing import Any

from aiohttp import web

PUBLIC_KEY = "0123456789abcdef0123456789abcdef"
PROJECT = 42


class FakeSentry:
    """`async with FakeSentry() as sentry:` then give the bot `sentry.dsn`; `events` holds
    every event received (envelope items of type `event`), `raw` the bodies as received."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def dsn(self) -> str:
        return f"http://{PUBLIC_KEY}@127.0.0.1:{self.port}/{PROJECT}"

    async def __aenter__(self) -> FakeSentry:
        app = web.Application()
        app.router.add_post(f"/api/{PROJECT}/envelope/", self._envelope)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _envelope(self, request: web.Request) -> web.Response:
        text = await request.text()  # aiohttp undoes sentry-sdk's gzip (Content-Encoding)
        self.raw.append(text)
        lines = text.split("\n")
        # An envelope: its header, then pairs of (item header, item payload) lines.
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                self.events.append(json.loads(payload))
        self._changed.set()
        return web.json_response({})

    async def wait_for_events(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while len(self.events) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.events
