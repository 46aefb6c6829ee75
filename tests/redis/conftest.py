"""Fixtures of the Redis tests: webhook workers in this process sharing one real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Dispatcher

from bot.factory import create_shared_state, create_storage
from bot.owner import BotRuntime
from bot.runtime.shared.state import SharedState
from bot.settings import Settings, load_settings
from bot.webhook.app import create_app
from sandbox import Emulator
from tests.helpers.constants import CONVERSATION_HANDLERS, SECRET
from tests.helpers.redis import RedisServer
from tests.helpers.webhook import App, StartApp, serve_app, stop_apps


@pytest.fixture
def redis_settings(
    emulator: Emulator,
    token: str,
    tmp_path: Path,
    redis_server: RedisServer,
    request: pytest.FixtureRequest,
) -> Settings:
    """Webhook-mode settings talking to the emulator, with REDIS_URL and the tests' own
    handlers."""
    values = {
        "BOT_TOKEN": token,
        "APP_ENV": "production",
        "TELEGRAM_API_URL": emulator.base_url,
        "WEBHOOK_BASE_URL": "http://127.0.0.1:9",
        "WEBHOOK_SECRET": SECRET,
        "LOCK_DIR": str(tmp_path / "state"),
        "SHUTDOWN_TIMEOUT": "5",
        "REDIS_URL": redis_server.url,
        "UPDATE_CLAIM_TTL": "3",
        "HANDLERS_MODULE": CONVERSATION_HANDLERS,
    }
    # copier: if database
    # Hosts sharing state in production: SQLite is refused, so a PostgreSQL of the test's own.
    values["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    # copier: endif
    return load_settings(overrides=values, root=tmp_path, environment=False)


def shared_dispatcher(shared: SharedState) -> Dispatcher:
    """An empty dispatcher on the FSM storage and isolation of `shared` (routers added by a
    test); the worker's runtime is given the same `shared`, so the claims and the storage
    see one connection."""
    storage, isolation = create_storage(shared)
    return Dispatcher(storage=storage, events_isolation=isolation)


@pytest.fixture
async def start_worker(redis_settings: Settings) -> AsyncIterator[StartApp]:
    """A webhook worker in this process: create_app with REDIS_URL, on a loopback port. Each
    call is another worker sharing the same Redis; `dispatcher` completes an empty dispatcher
    on the worker's shared FSM storage (the tests' handlers by default)."""
    started: list[App] = []
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))

    async def start(
        dispatcher: Callable[[Dispatcher], Dispatcher] | None = None, **changes: Any
    ) -> App:
        settings = redis_settings.model_copy(update=changes)
        reached: list[int] = []
        shared = create_shared_state(settings)
        assert shared is not None
        runtime = BotRuntime(
            settings,
            shared=shared,
            dispatcher=dispatcher(shared_dispatcher(shared)) if dispatcher else None,
        )
        app = create_app(settings, runtime)
        started.append(await serve_app(app, settings, http, reached))
        return started[-1]

    yield start
    await stop_apps(started)
    await http.close()
