"""Flood control's budget: when the bot may send its next message, so Telegram never says 429.

Each message spends from up to two budgets: the bot's global one, and its chat's (a private
chat's, or a group's: a negative chat id or an `@channel`). A budget is a sliding window: at
most `count` messages in any `window` seconds (its burst, over burst / rate seconds), kept as
the times of its last `count` booked slots, so that the same few lines run in this process
(`LocalBudget`) and atomically in the shared state for every worker and host
(`SharedState.flood_budget`). A message books the first slot that fits all its budgets and
waits for it.

Why a window and not a token bucket: Telegram does not publish how it counts. A bot that keeps
at most `burst` messages in any `burst / rate` seconds also stays under a token bucket of that
rate and burst, while a token bucket's sender (a burst on top of the rate) overruns a window:
30 a second with a burst of 10 puts 40 in one second. Each window is a little longer than the
limit's (WINDOW_MARGIN), so that jitter on the way cannot bunch two windows' messages into one.

A message that gets a 429 anyway books its retry at once (`FloodBudget.hold`): it goes first
after `retry_after`, before anything booked later, and its budgets restart at their rate, not
with a fresh burst (Telegram's limit was just reached: a burst would meet it again).

Two lanes keep replies from starving behind a broadcast: a reply books any slot, however far;
bulk traffic (a broadcast, see `lanes.bulk_lane()`) books only slots less than BULK_HORIZON away
(counted from when its chat's own budget lets it go) and otherwise asks again later, so a
reply waits at most that long behind it.

Not a library: aiolimiter (the well-kept asyncio one) has one bucket, no lanes, and no way to
book several budgets at once or to run in a shared store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.settings import Settings

logger = logging.getLogger(__name__)

# Seconds ahead a broadcast may book: how long a reply can wait behind one.
BULK_HORIZON = 0.3
# A message whose own chat's slot is further ahead than this books nothing yet and asks again
# then: a busy chat's queued messages never reserve the global budget ahead of other chats.
CHAT_HORIZON = 0.5
# Forget idle chats' budgets past this many (a full budget is the default anyway).
LOCAL_BUDGETS_KEPT = 10_000
# Each budget's window is the limit's, stretched by this share: messages sent a window apart
# must not reach Telegram inside one window of its own. At 30 a second it absorbs 20 ms of
# jitter per second, and keeps 0.98 of the rate.
WINDOW_MARGIN = 0.02


@dataclass(frozen=True)
class Budget:
    """One budget: at most `count` messages in any `window` seconds."""

    name: str  # "global", "chat:<id>" or "group:<id>"
    count: int
    window: float

    @classmethod
    def of(cls, name: str, per_second: float, burst: int) -> Budget:
        """A budget of `per_second` messages a second, `burst` of them at once at most."""
        window = burst / per_second
        return cls(name, burst, window * (1 + WINDOW_MARGIN))

    @property
    def spacing(self) -> float:
        """Seconds between messages at the budget's rate."""
        return self.window / self.count


@dataclass(frozen=True)
class Booking:
    """A budget's answer: booked, send in `wait` s; or not booked (bulk), ask in `wait` s."""

    booked: bool
    wait: float


class FloodBudget(Protocol):
    """Books slots in budgets: this process's (`LocalBudget`) or the shared state's."""

    async def book(self, budgets: Sequence[Budget], horizon: float | None) -> Booking:
        """The first slot that fits every budget (past `horizon` s: not booked)."""

    async def hold(self, budgets: Sequence[Budget], seconds: float) -> Booking:
        """After a 429: the first slot at least `seconds` away, booked now (ahead of every
        later booking), the budgets restarting at their rate from there, without a burst."""


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
        everyone = _spread(s.flood_global_burst, 1 / s.flood_global_rate)
        chat = _spread(s.flood_chat_burst, 1 / s.flood_chat_rate)
        group = _spread(s.flood_group_burst, 60 / s.flood_group_rate)
        return (
            f"{s.flood_global_rate:g} msg/s in all ({everyone}), "
            f"{s.flood_chat_rate:g} msg/s per chat ({chat}), "
            f"{s.flood_group_rate:g} msg/min per group ({group}), "
            f"a 429 retried up to {s.flood_retries} times"
        )


def _spread(burst: int, spacing: float) -> str:
    if burst == 1:
        return "evenly spaced"
    return f"at most {burst} in any {burst * spacing:.3g} s"


Log = list[float]  # a budget's last `count` booked slots, oldest first


def book_slot(
    logs: Sequence[Sequence[float]],
    budgets: Sequence[Budget],
    now: float,
    horizon: float | None,
    not_before: float | None = None,
) -> tuple[Booking, list[Log]]:
    """The sliding windows of several budgets at once: `logs` are their last booked slots
    (empty for a fresh one); returns the booking and the new logs (unchanged if not booked).

    A slot is never before a budget's last one (so each log stays in order) nor less than a
    window after the slot `count` bookings back. `horizon` counts from when the message could
    go by its chat's budget alone (the first budget is the global one): a chat that waits for
    its own slot books its global slot that far ahead, before messages that wait for nothing
    but the global budget. A message whose chat's own slot is more than CHAT_HORIZON away is
    not booked at all (it asks again then). With `not_before` (a 429's hold), the slot is at
    least that late and the budgets' logs are filled so that after it only the rate applies.
    The shared state's budget (`SharedState.flood_budget`) runs the same steps.
    """
    slot = now if not_before is None else max(now, not_before)
    own = now  # when the message could go by its own chat's budget alone
    for index, (log, budget) in enumerate(zip(logs, budgets, strict=True)):
        if log:
            earliest = log[-1]
            if len(log) >= budget.count:
                earliest = max(earliest, log[-budget.count] + budget.window)
            slot = max(slot, earliest)
            if index:  # the first budget is the global one
                own = max(own, earliest)
    unchanged = [list(log) for log in logs]
    if not_before is None and own - now > CHAT_HORIZON:
        return Booking(False, own - now - CHAT_HORIZON), unchanged
    if horizon is not None and slot - own > horizon:
        return Booking(False, slot - own - horizon), unchanged
    updated = []
    for log, budget in zip(logs, budgets, strict=True):
        kept = [*log[max(len(log) - budget.count + 1, 0) :], slot]
        if not_before is not None:
            # As if the budget had sent at its rate up to the slot: no burst right after a 429.
            steady = [slot - k * budget.spacing for k in range(budget.count - 1, -1, -1)]
            padded = [float("-inf")] * (budget.count - len(kept)) + kept
            kept = [max(a, b) for a, b in zip(padded, steady, strict=True)]
        updated.append(kept)
    return Booking(True, slot - now), updated


class LocalBudget:
    """The budgets of this process alone (no shared state)."""

    def __init__(self) -> None:
        self._logs: dict[str, Log] = {}
        self._windows: dict[str, float] = {}

    async def book(self, budgets: Sequence[Budget], horizon: float | None) -> Booking:
        """The first slot that fits every budget (past `horizon` s: not booked)."""
        return self._book(budgets, horizon, None)

    async def hold(self, budgets: Sequence[Budget], seconds: float) -> Booking:
        """After a 429: the first slot at least `seconds` away, ahead of later bookings."""
        return self._book(budgets, None, time.monotonic() + seconds)

    def _book(
        self, budgets: Sequence[Budget], horizon: float | None, not_before: float | None
    ) -> Booking:
        now = time.monotonic()
        logs = [self._logs.get(b.name, []) for b in budgets]
        booking, updated = book_slot(logs, budgets, now, horizon, not_before)
        if booking.booked:
            for budget, log in zip(budgets, updated, strict=True):
                self._logs[budget.name] = log
                self._windows[budget.name] = budget.window
            if len(self._logs) > LOCAL_BUDGETS_KEPT:
                self._forget_idle(now)
        return booking

    def _forget_idle(self, now: float) -> None:
        # A budget whose last slot is a full window past holds nothing: the same as a fresh one.
        idle = [name for name, log in self._logs.items() if log[-1] + self._windows[name] <= now]
        for name in idle:
            del self._logs[name], self._windows[name]


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
