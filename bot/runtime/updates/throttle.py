"""Incoming throttling (anti-spam): how many updates one user may have handled per window.

`UserThrottle`, an outer middleware of the dispatcher's updates, counts each user's updates
in a window of THROTTLE_WINDOW seconds. Past THROTTLE_LIMIT, the first update over gets the
user one "slow down" notice (and one log line); every later one is dropped before any filter
or handler runs, until the user has been quiet for a whole window: that is one episode. A
dropped update sends nothing, so it spends none of the bot's outgoing budget and delays no
other user's reply.

A handler can change this with aiogram's flags (read by `HandlerThrottle`, an inner
middleware, since a handler is only known once its filters matched):

    once_a_minute = {"throttle": {"limit": 1, "window": 60}}
    router.message.register(report, Command("report"), flags=once_a_minute)
    router.callback_query.register(tap, flags={"throttle": False})

A dict gives the handler a limit of its own, on top of the user's; `False` makes the updates
it handles not count towards the user's limit (an update that arrives while the user is over
the limit is still dropped: its handler is not known yet). The users the handlers name in
`dispatcher["throttle_exempt"]` (the template's: the bot's admins) are never
throttled; `dispatcher["throttle_notice"]`, a function, gives the notice's text (in the
user's language). The counts live in a `ThrottleCounter`: this process's (`LocalCounter`), or
the shared state's, so that the limit holds across workers and hosts.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from aiogram import Bot, Dispatcher, Router
from aiogram.dispatcher.flags import get_flag
from aiogram.dispatcher.middlewares.base import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat, TelegramObject, User

logger = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

FLAG = "throttle"
# The notice when the handlers give none (`dispatcher["throttle_notice"]`, a function
# returning the text in the user's language).
DEFAULT_NOTICE = "You are sending messages too fast. Please wait a few seconds, then go on."
# A process keeps at most this many users' windows before it sweeps out the finished ones.
LOCAL_SWEEP_AT = 10_000


class Verdict(enum.Enum):
    """What a counter says of one more update."""

    ALLOWED = "allowed"
    FIRST_OVER = "first_over"  # the first one over the limit in this episode: tell the user
    OVER = "over"  # over the limit, and the user was told: drop it quietly


class Throttled:
    """The result of an update dropped by throttling (the metrics count it as `throttled`)."""

    def __repr__(self) -> str:
        return "THROTTLED"


THROTTLED = Throttled()


@dataclass(frozen=True)
class Limit:
    """`limit` updates per `window` seconds, counted under `scope` (`user`, or a handler)."""

    limit: int
    window: float
    scope: str = "user"


class ThrottleCounter(Protocol):
    """Counts updates per key in fixed windows, and remembers each key's episode."""

    async def hit(self, key: str, limit: Limit) -> Verdict:
        """Count one update of `key`; the verdict on it."""

    async def give_back(self, key: str) -> None:
        """Un-count one update of `key` (it reached a handler that does not count)."""


class LocalCounter:
    """The counts of this process alone (no shared state configured)."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}  # key: (window's end, count)
        self._episodes: dict[str, float] = {}  # key: when the episode ends unless renewed

    async def hit(self, key: str, limit: Limit) -> Verdict:
        """Count one update of `key`; the verdict on it."""
        now = time.monotonic()
        if len(self._windows) > LOCAL_SWEEP_AT:
            self._sweep(now)
        ends, count = self._windows.get(key, (0.0, 0))
        if ends <= now:
            ends, count = now + limit.window, 0
        count += 1
        self._windows[key] = (ends, count)
        if count <= limit.limit:
            return Verdict.ALLOWED
        told = self._episodes.get(key, 0.0) > now
        # Every dropped update renews the episode: a flood that goes on is one episode.
        self._episodes[key] = now + limit.window
        return Verdict.OVER if told else Verdict.FIRST_OVER

    async def give_back(self, key: str) -> None:
        """Un-count one update of `key`."""
        ends, count = self._windows.get(key, (0.0, 0))
        if count > 0:
            self._windows[key] = (ends, count - 1)

    def _sweep(self, now: float) -> None:
        self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
        self._episodes = {k: v for k, v in self._episodes.items() if v > now}


def user_key(user: User, limit: Limit) -> str:
    """The counter key of `user` under `limit`'s scope."""
    return f"{limit.scope}:{user.id}"


def handler_limit(value: Any, where: str) -> Limit | None:
    """The handler's own limit given by its `throttle` flag (a dict), None for `False`;
    a ValueError that names the handler for anything else."""
    if isinstance(value, dict) and set(value) == {"limit", "window"}:
        limit, window = value["limit"], value["window"]
        if isinstance(limit, int) and limit >= 1 and isinstance(window, int | float) and window > 0:
            return Limit(limit, float(window), scope=f"handler:{where}")
    if value is False:
        return None
    raise ValueError(
        f"The throttle flag of {where} is {value!r}: write flags={{'throttle': False}} (its "
        "updates do not count) or flags={'throttle': {'limit': 3, 'window': 60}} (3 per "
        "minute for this handler)."
    )


def handler_where(handler: object) -> str:
    """`module.function` of a handler object (what names its own throttle window)."""
    callback = getattr(handler, "callback", handler)
    module = getattr(callback, "__module__", "")
    return f"{module}.{getattr(callback, '__qualname__', type(callback).__name__)}"


class UserThrottle(BaseMiddleware):
    """The outer middleware of the updates: each user's updates counted, the excess dropped."""

    def __init__(self, counter: ThrottleCounter, limit: Limit) -> None:
        self.counter = counter
        self.limit = limit

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("event_from_user")
        if not isinstance(user, User) or user.is_bot or exempt(user, data):
            return await handler(event, data)
        verdict = await self.counter.hit(user_key(user, self.limit), self.limit)
        if verdict is Verdict.ALLOWED:
            return await handler(event, data)
        if verdict is Verdict.FIRST_OVER:
            logger.warning(
                "User %s sent more than %d updates in %g s: told to slow down; what they send "
                "is dropped until they pause for %g s (THROTTLE_LIMIT, THROTTLE_WINDOW).",
                user.id,
                self.limit.limit,
                self.limit.window,
                self.limit.window,
            )
            await send_notice(data)
        return THROTTLED


class HandlerThrottle(BaseMiddleware):
    """The inner middleware that applies a handler's `throttle` flag (see the module)."""

    def __init__(self, counter: ThrottleCounter, user_limit: Limit) -> None:
        self.counter = counter
        self.user_limit = user_limit

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        flag = get_flag(data, FLAG)
        user = data.get("event_from_user")
        if flag is None or not isinstance(user, User) or exempt(user, data):
            return await handler(event, data)
        own = handler_limit(flag, handler_where(data.get("handler")))
        if own is None:
            await self.counter.give_back(user_key(user, self.user_limit))
            return await handler(event, data)
        verdict = await self.counter.hit(user_key(user, own), own)
        if verdict is Verdict.ALLOWED:
            return await handler(event, data)
        if verdict is Verdict.FIRST_OVER:
            logger.warning(
                "User %s used %s more than %d times in %g s: told to slow down.",
                user.id,
                own.scope.removeprefix("handler:"),
                own.limit,
                own.window,
            )
            await send_notice(data)
        return THROTTLED


def exempt(user: User, data: dict[str, Any]) -> bool:
    """True for a user the handlers exempt (`dispatcher["throttle_exempt"]`, user ids)."""
    return user.id in data.get("throttle_exempt", ())


async def send_notice(data: dict[str, Any]) -> None:
    """Tell the user to slow down, in their chat (an update without a chat gets none)."""
    chat, bot = data.get("event_chat"), data.get("bot")
    if not isinstance(chat, Chat) or not isinstance(bot, Bot):
        return
    notice = data.get("throttle_notice")
    text = notice() if callable(notice) else DEFAULT_NOTICE
    try:
        await bot.send_message(chat.id, text, parse_mode=None)
    except TelegramAPIError as exc:  # blocked, chat gone: the drop goes on regardless
        logger.warning("Could not tell user %s to slow down (%s)", chat.id, exc)


def flagged_handlers(dispatcher: Dispatcher) -> Iterator[tuple[str, Any]]:
    """(where, flag value) of every handler registered with a `throttle` flag."""
    routers: list[Router] = [dispatcher]
    while routers:
        router = routers.pop()
        routers.extend(router.sub_routers)
        for observer in router.observers.values():
            for handler in observer.handlers:
                if FLAG in handler.flags:
                    yield handler_where(handler), handler.flags[FLAG]


def throttle_updates(dispatcher: Dispatcher, counter: ThrottleCounter, limit: Limit) -> None:
    """Attach UserThrottle to the updates (unless the limit is 0) and HandlerThrottle to every
    event type; a malformed `throttle` flag is refused here, at start-up, naming its handler."""
    for where, value in flagged_handlers(dispatcher):
        handler_limit(value, where)
    if limit.limit > 0:
        dispatcher.update.outer_middleware(UserThrottle(counter, limit))
    inner = HandlerThrottle(counter, limit)
    for name, observer in dispatcher.observers.items():
        if name != "update":
            observer.middleware(inner)
