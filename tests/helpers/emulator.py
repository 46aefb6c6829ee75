"""Helpers for the emulator's own tests: raw calls, an aiogram Bot, a webhook stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from sandbox import Emulator
from sandbox.records import Signal

JSON = dict[str, Any]
Answer = Callable[[web.Request, JSON], Awaitable[web.StreamResponse]]


def make_bot(tg: Emulator, token: str) -> Bot:
    """A real aiogram Bot pointed at the emulator."""
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)))


async def call(
    http: aiohttp.ClientSession, tg: Emulator, token: str, method: str, **params: Any
) -> tuple[int, JSON]:
    """POST a Bot API call as JSON; returns (status, body)."""
    async with http.post(f"{tg.base_url}/bot{token}/{method}", json=params) as response:
        return response.status, await response.json()


@dataclass
class Received:
    """One request the webhook got."""

    update: JSON
    headers: dict[str, str]


class WebhookReceiver:
    """Stands in for a bot's webhook endpoint: records requests and answers as told."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.signal = Signal()
        self.answer: Answer = _answer_ok
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        update = await request.json()
        self.received.append(Received(update, dict(request.headers)))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.signal.notify()
        try:
            return await self.answer(request, update)
        finally:
            self.in_flight -= 1
            self.signal.notify()

    async def wait_received(self, count: int, timeout: float = 5.0) -> list[Received]:
        """Wait until at least `count` requests arrived."""
        await self.signal.wait_until(
            lambda: len(self.received) >= count, timeout, f"{count} webhook requests"
        )
        return self.received

    def update_ids(self) -> list[int]:
        """update_id of every request, in arrival order (retries included)."""
        return [r.update["update_id"] for r in self.received]


async def _answer_ok(request: web.Request, update: JSON) -> web.StreamResponse:
    return web.json_response({})


async def hold(gate: asyncio.Event) -> None:
    """Block a webhook answer until the test opens `gate`."""
    await asyncio.wait_for(gate.wait(), 10)
