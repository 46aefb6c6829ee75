"""Fixtures of the webhook tests: the app in this process, served on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Dispatcher
from pydantic import SecretStr

from bot.owner import BotRuntime
from bot.settings import Settings
from bot.webhook.app import create_app
from sandbox import Emulator
from tests.helpers.constants import CONVERSATION_HANDLERS, SECRET
from tests.helpers.webhook import App, StartApp, serve_app, stop_apps


@pytest.fixture
def settings(emulator: Emulator, token: str, tmp_path: Path) -> Settings:
    """Webhook-mode settings talking to the emulator, with the tests' own handlers."""
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
        handlers_module=CONVERSATION_HANDLERS,
    )


@pytest.fixture
async def start_app(settings: Settings) -> AsyncIterator[StartApp]:
    """Serve create_app(settings, ...) on a loopback port; `changes` replace settings fields.

    The dispatcher (the runtime's own by default) records every update that reaches it.
    """
    started: list[App] = []
    # A fresh connection per request: a keep-alive connection would outlive a stopped app.
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))

    async def start(dispatcher: Dispatcher | None = None, **changes: Any) -> App:
        app_settings = settings.model_copy(update=changes)
        runtime = BotRuntime(app_settings, dispatcher=dispatcher)
        reached: list[int] = []

        async def record(handler: Any, event: Any, data: dict[str, Any]) -> Any:
            reached.append(event.update_id)
            return await handler(event, data)

        runtime.dispatcher.update.outer_middleware(record)
        app = create_app(app_settings, runtime)
        started.append(await serve_app(app, app_settings, http, reached))
        return started[-1]

    yield start
    await stop_apps(started)
    await http.close()
