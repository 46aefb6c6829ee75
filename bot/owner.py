"""`BotRuntime`: the one owner of a process's resources, in polling, in a webhook worker, in a
test and in a benchmark.

    async with BotRuntime(settings) as runtime:   # opens the handlers' services
        ...                                       # runtime.bot, runtime.dispatcher

Built once from the settings, it holds the Bot, the Dispatcher, the shared state (or none),
the record of handled updates, the broadcaster, the database's engine (handlers receive its
session opener as `sessions`) and the services handlers receive by name
(`bot.services.Services`, filled by `handlers/`' `lifespan`). It makes each of them once and
closes each of them once. The mode stops its intake and drains its handlers first; leaving the
runtime then closes, in this order:

1. the dispatcher's shutdown hooks (when its startup hooks ran, and unless the mode ran them
   already with `emit_shutdown()`: polling does, while Ctrl+C still means "stop");
2. the handlers' services, the last opened first (and the lifespan's code after `yield`);
3. the broadcaster (running broadcasts keep their progress);
4. the database's engine (after the broadcaster, which marks the chats that blocked the bot);
5. the FSM storage (aiogram's shutdown closes it when the hooks ran; it holds no connection
   of its own: the shared state's is closed next);
6. the shared state;
7. the Bot's HTTP session, last, so that everything before it may still call the Bot API.

Two runtimes in one process (tests, benchmarks) share nothing unless given the same parts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any

from aiogram import Bot, Dispatcher

from bot.factory import (
    create_bot,
    create_broadcaster,
    create_deduplicator,
    create_dispatcher,
    create_shared_state,
    handlers_module,
    lifecycle_data,
)
from bot.per_update import install_per_update
from bot.runtime.broadcast.broadcaster import Broadcaster
from bot.runtime.shared.state import SharedState
from bot.runtime.updates.dedup import UpdateDeduplicator
from bot.services import Lifespan, ServiceError, Services
from bot.settings import Settings

logger = logging.getLogger(__name__)

# `shared` not given: made from the settings, by create_shared_state().
FROM_SETTINGS: Any = object()


def services_failed_message(settings: Settings) -> str:
    """Why the bot did not start when the handlers' lifespan failed (exit 1)."""
    return (
        f"The services of {settings.handlers_module} could not be opened (its `lifespan` "
        "failed; the error follows), so the bot did not start. Fix the lifespan or what it "
        "opens (a database or server that is down?), then start the bot again."
    )


class BotRuntime:
    """Everything one process of the bot owns, entered and left with `async with`."""

    def __init__(
        self,
        settings: Settings,
        *,
        shared: SharedState | None = FROM_SETTINGS,
        dispatcher: Dispatcher | None = None,
        services: Mapping[str, object] | None = None,
    ) -> None:
        """`shared` and `dispatcher` replace the ones made from the settings (tests that
        share a state, or bring a dispatcher of their own); the runtime owns them then.
        `services` replace the handlers' services of those names (tests): the real ones are
        never opened."""
        self.settings = settings
        self.shared: SharedState | None = (
            create_shared_state(settings) if shared is FROM_SETTINGS else shared
        )
        self.bot: Bot = create_bot(settings, self.shared)
        self.deduplicator: UpdateDeduplicator = create_deduplicator(self.shared)
        self.broadcaster: Broadcaster = create_broadcaster(settings, self.shared)
        self.dispatcher = dispatcher or create_dispatcher(settings, self.shared)
        self.services = Services(settings, services)
        self.services.add("broadcaster", self.broadcaster)
        # copier: if database
        # Here, not at the top: the module is the database option's (a project without it has
        # no bot/database/, and the import block then sorts the same in every rendering).
        from bot.database.session import Database

        self.database = Database(settings)  # no connection yet: the first session opens one
        self.services.add("sessions", self.database.session)
        # copier: endif
        if self.shared is not None:
            for name, value in self.shared.injected().items():
                self.services.add(name, value)
        # Unfinished broadcasts go on once the bot has started; the runtime stops them.
        self.dispatcher.startup.register(self.broadcaster.resume)
        install_per_update(self.dispatcher, self.services)
        self._lifespan: Lifespan | None = getattr(handlers_module(settings), "lifespan", None)
        self._stack = AsyncExitStack()
        self._hook_data: dict[str, Any] | None = None  # set once the startup hooks ran
        self._opened = False
        self._shut_down = False  # the shutdown hooks ran
        self._closed = False

    @property
    def opened(self) -> bool:
        """Whether `open()` succeeded: the handlers' services are open."""
        return self._opened

    @property
    def shares_state(self) -> bool:
        """Whether this process shares its state with the bot's other processes."""
        return self.shared is not None

    async def __aenter__(self) -> BotRuntime:
        """`open()`: what `async with` calls."""
        return await self.open()

    async def open(self) -> BotRuntime:
        """Open the handlers' services (their `lifespan`) and hand them to the dispatcher;
        a failure closes what was opened, and everything else, before it propagates."""
        try:
            self._stack.push_async_callback(self.services.aclose)
            if self._lifespan is not None:
                await self._stack.enter_async_context(self._lifespan(self.services))
            if unused := self.services.unused_overrides():
                raise ServiceError(
                    f"services={unused} replace no service: the lifespan of "
                    f"{self.settings.handlers_module} registers "
                    f"{sorted(self.services.values) + sorted(self.services.per_update_names)}. "
                    "Correct the name in the test."
                )
        except BaseException:
            await self.close()
            raise
        for name, value in self.services.values.items():
            self.dispatcher[name] = value
        self._opened = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close everything, in the order of the module's docstring."""
        await self.close()

    async def emit_startup(self, **extra: Any) -> None:
        """Run the dispatcher's startup hooks (`extra`: what a mode adds, e.g. `app`)."""
        data = lifecycle_data(self.dispatcher, self.bot, **extra)
        await self.dispatcher.emit_startup(**data)
        self._hook_data = data

    async def emit_shutdown(self) -> None:
        """Run the dispatcher's shutdown hooks, once, if its startup hooks ran (`close()` does
        it otherwise); a failing hook is logged, and the closing goes on."""
        data, self._hook_data = self._hook_data, None
        if data is not None:
            self._shut_down = True
            try:
                await self.dispatcher.emit_shutdown(**data)
            except Exception:
                logger.exception("A shutdown hook failed; closing the services anyway.")

    async def close(self) -> None:
        """Close everything the runtime holds, once, whether or not it was entered."""
        if self._closed:
            return
        self._closed = True
        try:
            await self.emit_shutdown()
            await self._close_services()
            await self.broadcaster.stop()
            # copier: if database
            await self.database.close()
            # copier: endif
            if not self._shut_down:
                await self.dispatcher.fsm.close()  # aiogram's shutdown hooks close it otherwise
        finally:
            try:
                if self.shared is not None:
                    await self.shared.close()
            finally:
                await self.bot.session.close()

    async def _close_services(self) -> None:
        try:
            await self._stack.aclose()
        except Exception:
            logger.exception(
                "Closing the handlers' services failed (their lifespan, or a service opened "
                "with services.open()); the rest of the bot is closed anyway."
            )
