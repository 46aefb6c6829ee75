"""The one place that builds the Bot, the FSM storage and the Dispatcher.

Handlers receive what the dispatcher holds by aiogram's dependency injection: an argument
named `settings` gets the `Settings`. `handlers/__init__.py` lists the routers in
`get_routers()` and may define `setup(dispatcher)` to add middlewares, startup and shutdown
hooks, or more injected objects (`dispatcher["db"] = ...`); every mode runs it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import DisabledEventIsolation, MemoryStorage

from bot.runtime.inline_filters import run_pure_filters_inline
from bot.settings import Settings


def create_bot(settings: Settings) -> Bot:
    """A Bot talking to TELEGRAM_API_URL (api.telegram.org, a local Bot API server, the sandbox)."""
    session = AiohttpSession()
    if not settings.uses_official_api:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(
        token=settings.token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def create_storage(settings: Settings) -> tuple[BaseStorage, BaseEventIsolation]:
    """FSM storage and event isolation: in memory, or shared on Redis when REDIS_URL is set."""
    if settings.redis_url is None:
        return MemoryStorage(), DisabledEventIsolation()
    # Imported here so that the redis package is only needed when REDIS_URL is used.
    from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

    storage = RedisStorage.from_url(settings.redis_url.get_secret_value())
    return storage, RedisEventIsolation(redis=storage.redis)


def handlers_module(settings: Settings) -> ModuleType:
    """HANDLERS_MODULE (`handlers` by default), imported."""
    return importlib.import_module(settings.handlers_module)


def load_routers(settings: Settings) -> list[Router]:
    """The routers of HANDLERS_MODULE, in its get_routers() order."""
    routers: list[Router] = handlers_module(settings).get_routers()
    return routers


def create_dispatcher(settings: Settings) -> Dispatcher:
    """A Dispatcher with the FSM storage, `settings` injected, every handlers router included
    and the handlers' `setup(dispatcher)` applied; cheap sync filters run inline."""
    storage, isolation = create_storage(settings)
    dispatcher = Dispatcher(storage=storage, events_isolation=isolation)
    dispatcher["settings"] = settings
    module = handlers_module(settings)
    dispatcher.include_routers(*module.get_routers())
    setup = getattr(module, "setup", None)
    if setup is not None:
        setup(dispatcher)
    run_pure_filters_inline(dispatcher)
    return dispatcher


def lifecycle_data(dispatcher: Dispatcher, bot: Bot, **extra: Any) -> dict[str, Any]:
    """What startup and shutdown hooks receive, the same in polling and webhook mode: the
    dispatcher's injected objects, `bot`, `bots` and `dispatcher` (webhook adds `app`)."""
    return {
        **dispatcher.workflow_data,
        "dispatcher": dispatcher,
        "bot": bot,
        "bots": [bot],
        **extra,
    }
