"""Which lane a message travels in, and what runs when its slot comes: the context a sender
sets around its messages (`bulk_lane()`, `on_turn()`), read by flood control
(`flood_session.py`) before each message goes. Every wait it makes is counted
(`flood_wait`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar

from bot.runtime.observability.metrics import record_flood_wait

_BULK: ContextVar[bool] = ContextVar("flood_bulk_lane", default=False)
SendHook = Callable[[], Awaitable[None]]
_ON_TURN: ContextVar[SendHook | None] = ContextVar("flood_on_turn", default=None)


@contextlib.contextmanager
def bulk_lane() -> Iterator[None]:
    """Messages sent inside (and in tasks started inside) yield to replies."""
    token = _BULK.set(True)
    try:
        yield
    finally:
        _BULK.reset(token)


def in_bulk_lane() -> bool:
    """Whether the current task sends bulk traffic."""
    return _BULK.get()


@contextlib.contextmanager
def on_turn(hook: SendHook) -> Iterator[None]:
    """Run `hook` when a message sent inside has waited for its slot, right before it goes:
    the broadcast notes "sending" there, so that a crash during the wait loses nothing."""
    token = _ON_TURN.set(hook)
    try:
        yield
    finally:
        _ON_TURN.reset(token)


async def turn_has_come() -> None:
    """Called by flood control once a message's slot has come (runs the `on_turn` hook)."""
    hook = _ON_TURN.get()
    if hook is not None:
        await hook()


async def flood_wait(seconds: float, cause: str) -> None:
    """Every wait flood control makes goes through here (`cause`: "pacing", "bulk" or
    "retry_after"), counted in /metrics (telegram_bot_flood_wait_seconds)."""
    record_flood_wait(seconds, cause)
    await asyncio.sleep(seconds)
