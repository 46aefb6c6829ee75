"""The per-update scope: a service registered with `Services.per_update()` (a database
session) is opened for the handler about to run only when that handler names it, and closed
when the handler returns or raises; its context manager receives the exception, so it can
commit on success and roll back on failure.

It is an aiogram inner middleware: it runs after the filters chose the handler, and aiogram
hands it that handler as `data["handler"]` (its `params` are the argument names). Registered
on the dispatcher's observers, it applies to the handlers of every nested router too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

from aiogram import Dispatcher
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.types import TelegramObject

from bot.services import Services

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class PerUpdateServices:
    """Opens the per-update services the chosen handler asks for, around that handler."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        """Run `handler` with its per-update services open; closed in reverse order after."""
        chosen = data.get("handler")
        names = self.services.per_update_names
        wanted = sorted(chosen.params & names) if isinstance(chosen, HandlerObject) else []
        if not wanted:
            return await handler(event, data)  # nothing opened for an update that asks nothing
        async with AsyncExitStack() as scope:
            for name in wanted:
                data[name] = await scope.enter_async_context(self.services.opener(name)())
            return await handler(event, data)


def install_per_update(dispatcher: Dispatcher, services: Services) -> None:
    """Put the scope around every handler of `dispatcher` (errors handlers included)."""
    middleware = PerUpdateServices(services)
    for event_name, observer in dispatcher.observers.items():
        if event_name != "update":  # the update observer's handler is aiogram's own routing
            observer.middleware(middleware)
