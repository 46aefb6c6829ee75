"""What the metrics, the JSON logs and the error reports learn from aiogram itself.

- `UpdateObserver`, an outer middleware of the dispatcher's updates: counts each update by
  type and outcome, keeps the in-flight gauge, and reports a handler's exception (before
  the handlers' own error handler swallows it);
- `HandlerTimer`, an inner middleware of every event type: the handler duration histogram,
  by router and handler name (aiogram passes both to inner middlewares);
- `ApiCallMetrics`, a session middleware of the Bot: every Bot API call by method and
  outcome, with its latency.

`observe_dispatcher(dispatcher)` and `observe_bot(bot)` attach them (bot/factory.py does);
`logging_ids(update)` gives log records the update's ids while both modes handle it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.dispatcher.event.bases import UNHANDLED, CancelHandler, SkipHandler
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.dispatcher.middlewares.base import BaseMiddleware
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.dispatcher.router import Router
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject, Update
from aiogram.types.update import UpdateTypeLookupError

from bot.logs import update_ids
from bot.runtime.observability import metrics
from bot.runtime.observability.call_outcomes import call_outcome
from bot.runtime.observability.error_reports import report_handler_error
from bot.runtime.updates.redelivery import redelivery_reason
from bot.runtime.updates.throttle import THROTTLED

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def logging_ids(update: Update) -> AbstractContextManager[None]:
    """While handling `update`: log records carry its update_id and chat_id. Both modes enter
    it around the whole handling, so that the handlers' error handler's lines carry them too
    (aiogram runs it outside every middleware)."""
    chat_id = UserContextMiddleware.resolve_event_context(update).chat_id
    return update_ids(update.update_id, chat_id)


def update_type(update: Update) -> str:
    """`message`, `callback_query`, ...: the update's type, or `unknown` for a new one."""
    try:
        return update.event_type
    except UpdateTypeLookupError:
        return "unknown"


class UpdateObserver(BaseMiddleware):
    """Counts, times and reports each update the dispatcher handles (see the module)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        kind = update_type(event)
        outcome = "failed"
        metrics.IN_FLIGHT.inc()
        try:
            result = await handler(event, data)
            outcome = outcome_of(result)
            return result
        except asyncio.CancelledError:
            outcome = "abandoned"
            raise
        except (CancelHandler, SkipHandler):
            outcome = "unhandled"  # a middleware stopped it on purpose: not a failure
            raise
        except Exception as exc:
            if redelivery_reason() is None:
                report_handler_error(exc, event, kind)
            raise
        finally:
            metrics.IN_FLIGHT.dec()
            # Asked to come again (the shared state down): a later delivery will count it.
            metrics.count_update(kind, "deferred" if redelivery_reason() else outcome)


def outcome_of(result: Any) -> str:
    """The outcome label of what the handlers returned for an update."""
    if result is UNHANDLED:
        return "unhandled"
    return "throttled" if result is THROTTLED else "handled"


class HandlerTimer(BaseMiddleware):
    """Observes the time each handler takes, by router and handler name."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        router = data.get("event_router")
        router_name = router.name if isinstance(router, Router) else ""
        started = time.perf_counter()
        try:
            return await handler(event, data)
        finally:
            elapsed = time.perf_counter() - started
            metrics.HANDLER_SECONDS.labels(router_name, handler_name(data.get("handler"))).observe(
                elapsed
            )


def handler_name(handler: object) -> str:
    """The handler function's qualified name (`on_error`, `SurveyFlow.answer`)."""
    callback = handler.callback if isinstance(handler, HandlerObject) else handler
    return str(getattr(callback, "__qualname__", type(callback).__name__))


class ApiCallMetrics(BaseRequestMiddleware):
    """Counts every Bot API call by method and outcome, and observes its latency."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        started = time.perf_counter()
        try:
            response = await make_request(bot, method)
        except asyncio.CancelledError:
            raise  # a long poll closed at shutdown: not an outcome of the Bot API
        except Exception as exc:
            metrics.record_api_call(name, *call_outcome(exc), time.perf_counter() - started)
            raise
        metrics.record_api_call(name, "ok", "", time.perf_counter() - started)
        return response


def observe_dispatcher(dispatcher: Dispatcher) -> None:
    """Attach UpdateObserver to the updates and HandlerTimer to every event type; the
    dispatcher's inner middlewares apply to the handlers of every router in it."""
    dispatcher.update.outer_middleware(UpdateObserver())
    timer = HandlerTimer()
    for name, observer in dispatcher.observers.items():
        if name != "update":
            observer.middleware(timer)


def observe_bot(bot: Bot) -> None:
    """Attach ApiCallMetrics to the bot's session. Registered last, it is the innermost
    request middleware: it counts each attempt on the wire (a retried 429 counts twice)."""
    bot.session.middleware(ApiCallMetrics())
