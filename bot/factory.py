"""The one place that builds the Bot, the FSM storage and the Dispatcher."""

from __future__ import annotations

import importlib

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import DisabledEventIsolation, MemoryStorage

from bot.config import Settings
from bot.inline_filters import run_pure_filters_inline


def create_bot(settings: Settings) -> Bot:
    """A Bot talking to TELEGRAM_API_URL (api.telegram.org, a local Bot API server, the sandbox)."""
    session = AiohttpSession()
    if not settings.uses_official_api:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def create_storage(settings: Settings) -> tuple[BaseStorage, BaseEventIsolation]:
    """FSM storage and event isolation: in memory, or shared on Redis when REDIS_URL is set."""
    if settings.redis_url is None:
        return MemoryStorage(), DisabledEventIsolation()
    # Imported here so that the redis package is only needed when REDIS_URL is used.
    from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

    storage = RedisStorage.from_url(settings.redis_url)
    return storage, RedisEventIsolation(redis=storage.redis)


def load_routers(settings: Settings) -> list[Router]:
    """The routers of HANDLERS_MODULE (`handlers` by default), in its get_routers() order."""
    module = importlib.import_module(settings.handlers_module)
    routers: list[Router] = module.get_routers()
    return routers


def create_dispatcher(settings: Settings) -> Dispatcher:
    """A Dispatcher with the FSM storage and every handlers router included; cheap sync
    filters run inline (see bot.inline_filters)."""
    storage, isolation = create_storage(settings)
    dispatcher = Dispatcher(storage=storage, events_isolation=isolation)
    dispatcher.include_routers(*load_routers(settings))
    run_pure_filters_inline(dispatcher)
    return dispatcher
