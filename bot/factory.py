"""The one place that builds the Bot, the FSM storage and the Dispatcher.

Handlers receive what the dispatcher holds by aiogram's dependency injection: an argument
named `settings` gets the `Settings`, one named `redis` the Redis client (with REDIS_URL),
one named `broadcaster` the broadcast helper (`bot.runtime.broadcast.Broadcaster`).
`handlers/__init__.py` lists the routers in `get_routers()` and may define
`setup(dispatcher)` to add middlewares, startup and shutdown hooks, or more injected objects
(`dispatcher["db"] = ...`); every mode runs it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import DisabledEventIsolation, MemoryStorage

from bot.runtime.broadcast import Broadcaster, BroadcastStore
from bot.runtime.broadcast_files import FileBroadcastStore, broadcasts_dir
from bot.runtime.dedup import MemoryDeduplicator, UpdateDeduplicator
from bot.runtime.error_reports import setup_error_reports
from bot.runtime.flood import FloodLimits, LocalBudget
from bot.runtime.flood_session import FloodControl
from bot.runtime.inline_filters import run_pure_filters_inline
from bot.runtime.observers import observe_bot, observe_dispatcher
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.runtime.redis_state import SharedState


def create_bot(settings: Settings, shared: SharedState | None = None) -> Bot:
    """A Bot talking to TELEGRAM_API_URL (api.telegram.org, a local Bot API server, the
    sandbox), its messages paced at Telegram's limits (FLOOD_*): in a budget of this process,
    or, given the shared state (REDIS_URL), in one budget for all the bot's processes; its
    calls counted for /metrics."""
    session = AiohttpSession()
    if not settings.uses_official_api:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    if settings.flood_control:
        budget = LocalBudget() if shared is None else shared.flood_budget()
        session.middleware(FloodControl(FloodLimits(settings), budget))
    bot = Bot(
        token=settings.token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    # Add other request middlewares (flood control) above this line: the last one registered
    # is the innermost, so the metrics then count each attempt on the wire, retries included.
    observe_bot(bot)
    return bot


def create_shared_state(settings: Settings) -> SharedState | None:
    """The Redis connection shared with the bot's other processes, when REDIS_URL is set."""
    if settings.redis_url is None:
        return None
    # Imported here so that the redis package is only needed when REDIS_URL is used.
    from bot.runtime.redis_state import SharedState

    return SharedState(settings)


def create_storage(
    settings: Settings, shared: SharedState | None
) -> tuple[BaseStorage, BaseEventIsolation]:
    """FSM storage and event isolation: in memory, or on Redis (keys carry the bot id)."""
    if shared is None:
        return MemoryStorage(), DisabledEventIsolation()
    from bot.runtime.redis_fsm import SharedIsolation, SharedStorage

    storage = SharedStorage(
        shared, state_ttl=settings.fsm_state_ttl, data_ttl=settings.fsm_data_ttl
    )
    return storage, SharedIsolation(storage, settings.update_claim_seconds)


def create_deduplicator(shared: SharedState | None) -> UpdateDeduplicator:
    """The record of handled updates: this process's, or shared on Redis."""
    return MemoryDeduplicator() if shared is None else shared.deduplicator()


def create_broadcaster(settings: Settings, shared: SharedState | None) -> Broadcaster:
    """The broadcast helper handlers receive as `broadcaster`: progress in Redis, or in
    files in LOCK_DIR without REDIS_URL."""
    if shared is None:
        store: BroadcastStore = FileBroadcastStore(
            broadcasts_dir(settings.lock_dir, settings.bot_id)
        )
    else:
        from bot.runtime.broadcast_redis import RedisBroadcastStore

        store = RedisBroadcastStore(shared)
    return Broadcaster(store, paced=settings.flood_control)


def handlers_module(settings: Settings) -> ModuleType:
    """HANDLERS_MODULE (`handlers` by default), imported."""
    return importlib.import_module(settings.handlers_module)


def load_routers(settings: Settings) -> list[Router]:
    """The routers of HANDLERS_MODULE, in its get_routers() order."""
    routers: list[Router] = handlers_module(settings).get_routers()
    return routers


def create_dispatcher(settings: Settings, shared: SharedState | None = None) -> Dispatcher:
    """A Dispatcher with the FSM storage, `settings`, `broadcaster` (and `redis` with
    REDIS_URL) injected,
    every handlers router included and the handlers' `setup(dispatcher)` applied; cheap sync
    filters run inline; updates and handlers measured for /metrics, handler exceptions
    reported to SENTRY_DSN when set. `shared` is made from the settings unless given."""
    setup_error_reports(settings)
    if shared is None:
        shared = create_shared_state(settings)
    storage, isolation = create_storage(settings, shared)
    dispatcher = Dispatcher(storage=storage, events_isolation=isolation)
    observe_dispatcher(dispatcher)
    dispatcher["settings"] = settings
    if shared is not None:
        dispatcher["redis"] = shared.redis
    broadcaster = create_broadcaster(settings, shared)
    dispatcher["broadcaster"] = broadcaster
    # Unfinished broadcasts go on after a restart; a stop keeps their progress.
    dispatcher.startup.register(broadcaster.resume)
    dispatcher.shutdown.register(broadcaster.stop)
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
