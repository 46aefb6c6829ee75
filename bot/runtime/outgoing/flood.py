"""Flood control's budget: when the bot may send its next message, so Telegram never says 429.

Each message spends from up to two budgets: the bot's global one, and its chat's (a private
chat's, or a group's: a negative chat id or an `@channel`). A budget is GCRA, the token bucket
written as one number per budget (its "theoretical arrival time"), so that the same few lines
run in this process (`LocalBudget`) and atomically in the shared state for every worker and
host (`SharedState.flood_budget`). A message books the first slot that fits all its budgets and
waits for it.

Two lanes keep replies from starving behind a broadcast: a reply books any slot, however far;
bulk traffic (a broadcast, see `bulk_lane()`) books only slots less than BULK_HORIZON away and
otherwise asks again later, so a reply waits at most that long behind it.

Not a library: aiolimiter (the well-kept asyncio one) has one bucket, no lanes, and no way to
book several buckets at once or to run in a shared store; the arithmetic below is the GCRA
of the rate-limit scripts in wide use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from bot.runtime.observability.metrics import record_flood_wait
from bot.settings import Settings

logger = logging.getLogger(__name__)

# Seconds ahead a broadcast may book: how long a reply can wait behind one.
BULK_HORIZON = 0.3
# Forget idle chats' budgets past this many (a full budget is the default anyway).
LOCAL_BUDGETS_KEPT = 10_000

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


@dataclass(frozen=True)
class Budget:
    """One budget: a message per `interval` seconds, `tolerance` seconds of burst."""

    name: str  # "global", "chat:<id>" or "group:<id>"
    interval: float
    tolerance: float

    @classmethod
    def of(cls, name: str, per_second: float, burst: int) -> Budget:
        """A budget of `per_second` messages a second with bursts of `burst`."""
        interval = 1.0 / per_second
        return cls(name, interval, (burst - 1) * interval)


@dataclass(frozen=True)
class Booking:
    """A budget's answer: booked, send in `wait` s; or not booked (bulk), ask in `wait` s."""

    booked: bool
    wait: float


class FloodBudget(Protocol):
    """Books slots in budgets: this process's (`LocalBudget`) or the shared state's."""

    async def book(self, budgets: Sequence[Budget], horizon: float | None) -> Booking:
        """The first slot that fits every budget (past `horizon` s: not booked)."""


class FloodLimits:
    """The budgets of the bot's messages, sized by the FLOOD_* settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.global_budget = Budget.of(
            "global", settings.flood_global_rate, settings.flood_global_burst
        )

    def budgets(self, chat_id: int | str | None) -> list[Budget]:
        """What a message to `chat_id` spends from (None: no chat, e.g. an inline message)."""
        s = self.settings
        if chat_id is None:
            return [self.global_budget]
        if isinstance(chat_id, str) or chat_id < 0:  # groups, supergroups, channels
            chat = Budget.of(f"group:{chat_id}", s.flood_group_rate / 60.0, s.flood_group_burst)
        else:
            chat = Budget.of(f"chat:{chat_id}", s.flood_chat_rate, s.flood_chat_burst)
        return [self.global_budget, chat]

    def describe(self) -> str:
        """The effective limits in one line (for doctor and the start-up log)."""
        s = self.settings
        return (
            f"{s.flood_global_rate:g} msg/s in all (bursts of {s.flood_global_burst}), "
            f"{s.flood_chat_rate:g} msg/s per chat (bursts of {s.flood_chat_burst}), "
            f"{s.flood_group_rate:g} msg/min per group (bursts of {s.flood_group_burst}), "
            f"a 429 retried up to {s.flood_retries} times"
        )


def book_slot(
    arrivals: Sequence[float], budgets: Sequence[Budget], now: float, horizon: float | None
) -> tuple[Booking, list[float]]:
    """GCRA for several budgets at once: `arrivals` are their theoretical arrival times
    (0 for a fresh one); returns the booking and the new arrival times (unchanged if not
    booked). The shared state's budget runs the same steps."""
    slot = max([now, *(tat - b.tolerance for tat, b in zip(arrivals, budgets, strict=True))])
    if horizon is not None and slot - now > horizon:
        return Booking(False, slot - now - horizon), list(arrivals)
    updated = [max(tat, slot) + b.interval for tat, b in zip(arrivals, budgets, strict=True)]
    return Booking(True, slot - now), updated


class LocalBudget:
    """The budgets of this process alone (no shared state)."""

    def __init__(self) -> None:
        self._arrivals: dict[str, float] = {}

    async def book(self, budgets: Sequence[Budget], horizon: float | None) -> Booking:
        """The first slot that fits every budget (past `horizon` s: not booked)."""
        now = time.monotonic()
        arrivals = [self._arrivals.get(b.name, 0.0) for b in budgets]
        booking, updated = book_slot(arrivals, budgets, now, horizon)
        if booking.booked:
            self._arrivals.update(zip((b.name for b in budgets), updated, strict=True))
            if len(self._arrivals) > LOCAL_BUDGETS_KEPT:
                self._forget_idle(now)
        return booking

    def _forget_idle(self, now: float) -> None:
        # A budget whose arrival time has passed is full again: the same as a fresh one.
        for name in [name for name, tat in self._arrivals.items() if tat <= now]:
            del self._arrivals[name]


class FloodLog:
    """429s logged once per episode: a warning when the first arrives, a line when every
    message that got one is through (or given up, each of those an error)."""

    def __init__(self) -> None:
        self.waiting = 0  # messages between their first 429 and their delivery
        self.since: float | None = None
        self.retried = 0
        self.lost = 0

    def retrying(self, what: str, wait: float, first: bool) -> None:
        """A message got 429 (`first`: its first) and is sent again after `wait` s."""
        if self.since is None:
            self.since, self.retried, self.lost = time.monotonic(), 0, 0
            logger.warning(
                "Telegram answered 429 Too Many Requests (%s, retry after %.0f s): messages "
                "are held and sent again after Telegram's wait; the next line here is when "
                "they are all through.",
                what,
                wait,
            )
        self.waiting += first
        self.retried += 1

    def settled(self, what: str, delivered: bool) -> None:
        """A message that got 429 is delivered, or was given up (FLOOD_RETRIES used up)."""
        if not delivered:
            self.lost += 1
            logger.error(
                "%s was not sent: Telegram kept answering 429 Too Many Requests after every "
                "retry (FLOOD_RETRIES). Lower FLOOD_GLOBAL_RATE or the other FLOOD_* rates, or "
                "check what else sends with this bot's token.",
                what,
            )
        self.waiting = max(self.waiting - 1, 0)
        if self.waiting == 0 and self.since is not None:
            logger.info(
                "Flood control: the 429 episode is over after %.1f s (%d retries, %d message(s) "
                "given up).",
                time.monotonic() - self.since,
                self.retried,
                self.lost,
            )
            self.since = None
