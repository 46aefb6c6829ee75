"""Fixtures of the webhook tests: the app in this process, served on a loopback port."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message
from aiohttp import web
from pydantic import SecretStr

from bot.factory import create_bot, create_dispatcher
from bot.settings import Settings
from bot.webhook.app import HANDLER_KEY, create_app
from bot.webhook.handler import SECRET_HEADER, WebhookHandler
from sandbox import Emulator

SECRET = "test-secret_" + "x" * 20


@pytest.fixture
def settings(emulator: Emulator, token: str, tmp_path: Path) -> Settings:
    """Webhook-mode settings talking to the emulator."""
    return Settings(
        bot_token=SecretStr(token),
        app_env="production",
        bot_mode="webhook",
        telegram_api_url=emulator.base_url,
        webhook_base_url="http://127.0.0.1:9",
        webhook_secret=SecretStr(SECRET),
        lock_dir=tmp_path / "state",
        shutdown_timeout=5.0,
        webhook_max_body_bytes=64 * 1024,
    )


class App:
    """A webhook app served as in production (aiohttp's AppRunner on a loopback port)."""

    def __init__(
        self,
        runner: web.AppRunner,
        http: aiohttp.ClientSession,
        settings: Settings,
        reached_dispatcher: list[int],
    ) -> None:
        self.runner = runner
        self.http = http
        self.settings = settings
        self.reached_dispatcher = reached_dispatcher
        host, port = runner.addresses[0][:2]
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
        await self.runner.cleanup()


StartApp = Callable[..., Awaitable[App]]


@pytest.fixture
async def start_app(settings: Settings) -> AsyncIterator[StartApp]:
    """Serve create_app(settings, ...) on a loopback port; `changes` replace settings fields.

    The dispatcher (the project's own by default) records every update that reaches it.
    """
    runners: list[web.AppRunner] = []
    # A fresh connection per request: a keep-alive connection would outlive a stopped app.
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))

    async def start(dispatcher: Dispatcher | None = None, **changes: Any) -> App:
        app_settings = dataclasses.replace(settings, **changes)
        dispatcher = dispatcher or create_dispatcher(app_settings)
        reached: list[int] = []

        async def record(handler: Any, event: Any, data: dict[str, Any]) -> Any:
            reached.append(event.update_id)
            return await handler(event, data)

        dispatcher.update.outer_middleware(record)
        app = create_app(app_settings, bot=create_bot(app_settings), dispatcher=dispatcher)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return App(runner, http, app_settings, reached)

    yield start
    for runner in runners:
        await runner.cleanup()
    await http.close()


class Gate:
    """A handler that waits for the test: `started` when it runs, finishes on `release()`."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.released = asyncio.Event()
        self.finished: list[int] = []

    def release(self) -> None:
        self.released.set()

    def dispatcher(self) -> Dispatcher:
        router = Router(name="gate")

        async def wait_for_the_test(message: Message, bot: Bot) -> None:
            self.started.set()
            await self.released.wait()
            await message.answer(f"done {message.text}")
            self.finished.append(message.message_id)

        router.message.register(wait_for_the_test)
        dispatcher = Dispatcher()
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
