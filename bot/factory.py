"""The one place that builds the Bot, the FSM storage and the Dispatcher.

Handlers receive what the dispatcher holds by aiogram's dependency injection: an argument
named `settings` gets the `Settings`; the services (the broadcast helper as `broadcaster`, the
shared state's objects, and `handlers/`' own from its `lifespan`) are added by
`bot.owner.BotRuntime`, which builds these parts once per process and closes them.
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

from bot.runtime.broadcast.broadcaster import Broadcaster, BroadcastStore
from bot.runtime.broadcast.files import FileBroadcastStore, broadcasts_dir
from bot.runtime.observability.error_reports import setup_error_reports
from bot.runtime.observability.observers import observe_bot, observe_dispatcher
from bot.runtime.outgoing.flood import FloodLimits, LocalBudget
from bot.runtime.outgoing.flood_session import FloodControl
from bot.runtime.shared.state import SharedState
from bot.runtime.updates.dedup import MemoryDeduplicator, UpdateDeduplicator
from bot.runtime.updates.inline_filters import run_pure_filters_inline
from bot.runtime.updates.throttle import Limit, LocalCounter, ThrottleCounter, throttle_updates
from bot.settings import Settings


def create_bot(settings: Settings, shared: SharedState | None = None) -> Bot:
    """A Bot talking to TELEGRAM_API_URL (api.telegram.org, a local Bot API server, the
    sandbox), its messages paced at Telegram's limits (FLOOD_*): in a budget of this process,
    or, given the shared state, in one budget for all the bot's processes; its
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
    """The state shared with the bot's other processes, when the settings configure one;
    None keeps every state in this process. The one place that makes it."""
    # copier: if redis
    if settings.redis_url is not None:
        # Imported here so that the redis package is only needed when REDIS_URL is used.
        from bot.runtime.shared.redis.state import RedisState

        return RedisState(settings)
    # copier: endif
    return None


def create_storage(shared: SharedState | None) -> tuple[BaseStorage, BaseEventIsolation]:
    """FSM storage and event isolation: in memory, or in the shared state."""
    if shared is None:
        return MemoryStorage(), DisabledEventIsolation()
    return shared.fsm()


def create_deduplicator(shared: SharedState | None) -> UpdateDeduplicator:
    """The record of handled updates: this process's, or the shared one."""
    return MemoryDeduplicator() if shared is None else shared.deduplicator()


def create_broadcaster(settings: Settings, shared: SharedState | None) -> Broadcaster:
    """The broadcast helper handlers receive as `broadcaster`: progress in the shared state,
    or in files in LOCK_DIR without it."""
    if shared is None:
        store: BroadcastStore = FileBroadcastStore(
            broadcasts_dir(settings.lock_dir, settings.bot_id)
        )
    else:
        store = shared.broadcast_store()
    return Broadcaster(store, paced=settings.flood_control)


def create_throttle_counter(shared: SharedState | None) -> ThrottleCounter:
    """Incoming throttling's counts: this process's, or the shared ones."""
    return LocalCounter() if shared is None else shared.throttle_counter()


def handlers_module(settings: Settings) -> ModuleType:
    """HANDLERS_MODULE (`handlers` by default), imported."""
    return importlib.import_module(settings.handlers_module)


def load_routers(settings: Settings) -> list[Router]:
    """The routers of HANDLERS_MODULE, in its get_routers() order."""
    routers: list[Router] = handlers_module(settings).get_routers()
    return routers


def create_dispatcher(settings: Settings, shared: SharedState | None) -> Dispatcher:
    """A Dispatcher with the FSM storage (in memory, or in `shared`), `settings` injected,
    every handlers router included and the handlers' optional `setup(dispatcher)` applied;
    each user's updates throttled (THROTTLE_*, counted in `shared` when given); cheap sync
    filters run inline; updates and handlers measured for /metrics, handler exceptions
    reported to SENTRY_DSN when set. It makes nothing it does not hold: the services and
    their lifetime are `bot.owner.BotRuntime`'s."""
    setup_error_reports(settings)
    storage, isolation = create_storage(shared)
    dispatcher = Dispatcher(storage=storage, events_isolation=isolation)
    observe_dispatcher(dispatcher)
    dispatcher["settings"] = settings
    module = handlers_module(settings)
    dispatcher.include_routers(*module.get_routers())
    setup = getattr(module, "setup", None)
    if setup is not None:
        setup(dispatcher)  # the handlers' update middlewares (docs/handlers.md)
    # Incoming throttling (THROTTLE_*), the one place it is attached: after the handlers'
    # setup, so that their update middlewares (the user's language) have run when the
    # "slow down" notice is written; its inner part runs before the per-update services
    # open (BotRuntime installs those later), so a dropped update opens no session.
    limit = Limit(settings.throttle_limit, settings.throttle_window)
    throttle_updates(dispatcher, create_throttle_counter(shared), limit)
    run_pure_filters_inline(dispatcher)
    return dispatcher


def used_update_types(settings: Settings) -> list[str]:
    """The update types the handlers use: what getUpdates and the webhook ask Telegram for."""
    dispatcher = Dispatcher()
    dispatcher.include_routers(*load_routers(settings))
    return dispatcher.resolve_used_update_types()


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
