"""The webhook app served in this process as in production, and what its tests send it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message
from aiohttp import web

from bot.settings import Settings
from bot.webhook.app import HANDLER_KEY
from bot.webhook.handler import WebhookHandler
from bot.webhook.listener import listen, make_runner
from bot.webhook.request_checks import SECRET_HEADER
from tests.helpers.constants import SECRET


class App:
    """A webhook app served as in production (aiohttp's AppRunner on a loopback port)."""

    def __init__(
        self,
        runner: web.AppRunner,
        listener: asyncio.Server,
        http: aiohttp.ClientSession,
        settings: Settings,
        reached_dispatcher: list[int],
    ) -> None:
        self.runner = runner
        self.listener = listener
        self.http = http
        self.settings = settings
        self.reached_dispatcher = reached_dispatcher
        host, port = listener.sockets[0].getsockname()[:2]
        self.port: int = port
        self.base_url = f"http://{host}:{port}"

    @property
    def app(self) -> web.Application:
        return self.runner.app

    @property
    def handler(self) -> WebhookHandler:
        return self.app[HANDLER_KEY]

    async def get(self, path: str) -> aiohttp.ClientResponse:
        async with self.http.get(self.base_url + path) as response:
            await response.read()
            return response

    async def post(
        self,
        body: Any,
        secret: str | None = SECRET,
        headers: dict[str, str] | None = None,
        path: str | None = None,
    ) -> aiohttp.ClientResponse:
        """POST to the webhook path: a dict is sent as JSON, bytes as they are."""
        data = json.dumps(body).encode() if isinstance(body, dict | list) else body
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if secret is not None:
            all_headers[SECRET_HEADER] = secret
        url = self.base_url + (path or self.settings.webhook_path)
        async with self.http.post(url, data=data, headers=all_headers) as response:
            await response.read()
            return response

    async def stop(self) -> None:
        """What SIGTERM does to a worker: stop listening, drain, clean up."""
        self.listener.close()
        await self.runner.cleanup()


StartApp = Callable[..., Awaitable[App]]


async def serve_app(
    app: web.Application, settings: Settings, http: aiohttp.ClientSession, reached: list[int]
) -> App:
    """Serve `app` on a loopback port with the standalone server's own runner and listener
    (its read timeouts and connection cap), as `python run.py` serves it in webhook mode."""
    runner = make_runner(app, settings)
    await runner.setup()
    listener = await listen(runner, "127.0.0.1", 0, settings.web_max_connections)
    return App(runner, listener, http, settings, reached)


async def stop_apps(apps: list[App]) -> None:
    """Stop what serve_app started (again, for a test that stopped an app itself)."""
    for app in apps:
        app.listener.close()
        await app.runner.cleanup()


class Gate:
    """A handler that waits for the test: `started` when it runs, finishes on `release()`."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.released = asyncio.Event()
        self.finished: list[int] = []

    def release(self) -> None:
        self.released.set()

    def dispatcher(self, dispatcher: Dispatcher | None = None) -> Dispatcher:
        """`dispatcher` (a new in-memory one by default) with the gate as its only handler."""
        router = Router(name="gate")

        async def wait_for_the_test(message: Message, bot: Bot) -> None:
            self.started.set()
            await self.released.wait()
            await message.answer(f"done {message.text}")
            self.finished.append(message.message_id)

        router.message.register(wait_for_the_test)
        dispatcher = dispatcher or Dispatcher()
        dispatcher.include_router(router)
        return dispatcher


async def raw_post(port: int, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    """An HTTP/1.1 POST written byte by byte (for headers no client library would send)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = [b"POST " + path.encode() + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
        head += [name + b": " + value for name, value in headers]
        head.append(b"Content-Length: " + str(len(body)).encode())
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        await writer.drain()
        status_line = await reader.readline()
        return int(status_line.split()[1])
    finally:
        writer.close()
