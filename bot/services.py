"""What `handlers/` may import of the runtime: the registry of services, and the small types
of what the runtime hands handlers.

Handlers receive every service by name (aiogram's dependency injection): a handler argument
named `http` gets the service registered as `http`. `handlers/__init__.py` registers its own in
its `lifespan(services)`:

    @asynccontextmanager
    async def lifespan(services: Services) -> AsyncIterator[None]:
        await services.open("http", aiohttp.ClientSession)    # one for the process
        services.per_update("session", sessions)              # one per update that asks
        yield

A service opened with `open()` is closed at stop, in reverse order, also when the start fails
half-way. A per-update one is opened only for a handler that names it, and closed when that
handler returns, or raises (its context manager receives the exception: roll back there).
A handler test replaces any of them, without opening the real one (docs/testing.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Protocol, TypeVar, cast, runtime_checkable

from aiogram import Bot

from bot.settings import Settings

T = TypeVar("T")

# Makes one service: called with no argument, entered with `async with`.
Opener = Callable[[], AbstractAsyncContextManager[T]]
# What `handlers/__init__.py` may define to open and close its services.
Lifespan = Callable[["Services"], AbstractAsyncContextManager[None]]
# What aiogram passes every handler and hook by itself: a service must not take these names.
RESERVED = frozenset(
    {"bot", "bots", "dispatcher", "event_update", "event_router", "event_from_user",
     "event_chat", "event_thread_id", "event_business_connection_id", "event_context",
     "state", "raw_state", "fsm_storage", "handler", "handlers", "app", "settings"}
)  # fmt: skip


@runtime_checkable
class Broadcasts(Protocol):
    """What handlers receive as `broadcaster`: one message to many chats, in the background,
    at Telegram's pace, resumed after a restart."""

    async def start(
        self, bot: Bot, job_id: str, chat_ids: Sequence[int], text: str, report_to: int | None
    ) -> bool:
        """Start sending; False when `job_id` was started before (the same command again)."""
        ...

    def on_blocked(self, listener: Callable[[int], Awaitable[None]]) -> None:
        """Call `listener(chat_id)` for each chat that answers 403: the bot was blocked or
        removed (register it in the lifespan: it serves the broadcasts resumed at start too)."""
        ...


class ServiceError(Exception):
    """A service was registered twice, under a reserved name, or overridden by mistake."""


class Services:
    """The services of one process, by the name handlers receive them as; the runtime's
    (`broadcaster`, the shared state's) and the ones `handlers/` registers in its lifespan."""

    def __init__(self, settings: Settings, overrides: Mapping[str, object] | None = None) -> None:
        """`overrides` (tests) replace the services of those names, which are then never
        opened."""
        self.settings = settings
        self._values: dict[str, object] = {}
        self._per_update: dict[str, Opener[object]] = {}
        self._overrides = dict(overrides or {})
        self._closing = AsyncExitStack()

    @property
    def values(self) -> dict[str, object]:
        """The services handlers receive as they are (the process's), by name."""
        return dict(self._values)

    @property
    def per_update_names(self) -> frozenset[str]:
        """The names of the per-update services."""
        return frozenset(self._per_update)

    def add(self, name: str, value: T) -> T:
        """Register a ready object (it needs no closing, or you close it after `yield`)."""
        self._claim(name)
        chosen = self._overrides.get(name, value)
        self._values[name] = chosen
        return cast(T, chosen)

    async def open(self, name: str, opener: Opener[T]) -> T:
        """Open a service for the life of the process (`async with opener()`) and register
        what it yields; it is closed at stop, the last opened first."""
        self._claim(name)
        if name in self._overrides:
            value = cast(T, self._overrides[name])
        else:
            value = await self._closing.enter_async_context(opener())
        self._values[name] = value
        return value

    def per_update(self, name: str, opener: Opener[object]) -> None:
        """Register a service that lives one update: `opener()` is entered for each handler
        that has an argument `name`, and left when that handler returns or raises."""
        self._claim(name)
        if name in self._overrides:
            self._values[name] = self._overrides[name]  # a test's stand-in, the same every time
        else:
            self._per_update[name] = opener

    def opener(self, name: str) -> Opener[object]:
        """The opener of the per-update service `name`."""
        return self._per_update[name]

    def unused_overrides(self) -> list[str]:
        """Overridden names nobody registered (a typo in a test, or a renamed service)."""
        return sorted(set(self._overrides) - set(self._values) - set(self._per_update))

    async def aclose(self) -> None:
        """Close what `open()` opened, the last opened first."""
        await self._closing.aclose()

    def _claim(self, name: str) -> None:
        if name in RESERVED:
            raise ServiceError(
                f"A service cannot be called {name!r}: aiogram or the runtime passes handlers "
                "an argument of that name already. Register it under another name."
            )
        if name in self._values or name in self._per_update:
            raise ServiceError(
                f"The service {name!r} is registered twice; each name is one service. "
                "Remove one registration, or give one of them another name."
            )
