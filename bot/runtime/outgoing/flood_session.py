"""Flood control in the bot's session: every message the bot sends waits for its slot in the
budgets (`bot.runtime.outgoing.flood`), and a 429 Too Many Requests is sent again after Telegram's
`retry_after` (`call_with_retry`, bounded by FLOOD_RETRIES, one log line per episode). The
retry's slot is booked as soon as the 429 arrives (`FloodBudget.hold`), so it keeps its place
ahead of the messages booked after it; a message of this process whose slot falls inside the
wait Telegram asked for books again when it wakes (behind the held one).

It is aiogram's session middleware, so handlers, hooks and the broadcast all go through it
without knowing: `await message.answer(...)` simply returns once the message is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.runtime.outgoing.flood import (
    BULK_HORIZON,
    Budget,
    FloodBudget,
    FloodLimits,
    FloodLog,
)
from bot.runtime.outgoing.lanes import flood_wait, in_bulk_lane, turn_has_come
from bot.runtime.outgoing.retry import RetryPolicy, call_with_retry

if TYPE_CHECKING:
    from aiogram import Bot

# Methods that put a message in a chat or change one count against the limits; the rest
# (getMe, getUpdates, answerCallbackQuery, setWebhook, deleteMessage...) go at once.
COUNTED_PREFIXES = ("send", "copyMessage", "forwardMessage", "editMessage")
# Typing indicators: Telegram does not count them as messages.
NOT_COUNTED = frozenset({"sendChatAction"})
# A message that woke too late (or after a hold) books a new slot once, then goes anyway:
# each new slot costs one of the budget, and a loop that is always late must still send.
MAX_REBOOKS = 1
# Late by less than this is timer jitter, not a stall worth a new slot. Above it, half a
# message's spacing is the bound: within the 2 % window margin at any rate (flood.py).
JITTER = 0.001


def counts_against_limits(api_method: str) -> bool:
    """Whether Telegram counts a call of this Bot API method as a message sent."""
    return api_method.startswith(COUNTED_PREFIXES) and api_method not in NOT_COUNTED


class FloodControl(BaseRequestMiddleware):
    """Paces the calls that count against Telegram's limits and retries their 429s."""

    def __init__(self, limits: FloodLimits, budget: FloodBudget) -> None:
        self.limits = limits
        self.budget = budget
        self.policy = RetryPolicy(attempts=limits.settings.flood_retries + 1)
        self.log = FloodLog()
        self._held: dict[str, float] = {}  # budget name -> loop time Telegram's last wait ends

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Send `method` once its slot comes; again after a 429's `retry_after`."""
        name = method.__api_method__
        if not counts_against_limits(name):
            return await make_request(bot, method)
        chat_id = getattr(method, "chat_id", None)
        budgets = self.limits.budgets(chat_id)

        held: list[float] = []  # a 429's retry slot, on the loop's clock

        async def attempt() -> Response[TelegramType]:
            if held:
                await flood_wait(
                    max(held.pop() - asyncio.get_running_loop().time(), 0.0), "retry_after"
                )
            else:
                await self.wait_turn(budgets)
            await turn_has_come()
            return await make_request(bot, method)

        async def hold(seconds: float) -> None:
            held.append(await self.hold(budgets, seconds))

        what = name if chat_id is None else f"{name} to chat {chat_id}"
        return await call_with_retry(attempt, what, self.policy, sleep=hold, flood=self.log)

    async def hold(self, budgets: Sequence[Budget], seconds: float) -> float:
        """Book a 429'd message's retry `seconds` from now (the loop time it is due at);
        messages of this process whose slots fall inside that wait book again."""
        loop = asyncio.get_running_loop()
        waited_until = loop.time() + seconds
        booking = await self.budget.hold(budgets, seconds)
        for budget in budgets:
            self._held[budget.name] = max(self._held.get(budget.name, 0.0), waited_until)
        return loop.time() + booking.wait

    async def wait_turn(self, budgets: Sequence[Budget]) -> None:
        """Return when the message may go: its slot booked and come. Bulk traffic books only
        slots close ahead, so that replies keep theirs."""
        bulk = in_bulk_lane()
        horizon = BULK_HORIZON if bulk else None
        # A busy event loop wakes sleepers late, all at once: sent together, the messages of
        # several slots would reach Telegram as one burst. One that wakes later than this
        # books a new slot instead.
        lateness = max(min(b.spacing for b in budgets) / 2, JITTER)
        loop = asyncio.get_running_loop()
        rebooked = 0
        while True:
            booking = await self.budget.book(budgets, horizon)
            if not booking.booked:
                await flood_wait(booking.wait, "bulk" if bulk else "pacing")
                continue
            if booking.wait <= 0:
                return
            due = loop.time() + booking.wait
            await flood_wait(booking.wait, "pacing")
            if rebooked == MAX_REBOOKS:
                return
            if loop.time() - due <= lateness and not self._held_past(due, budgets):
                return
            rebooked += 1

    def _held_past(self, slot: float, budgets: Sequence[Budget]) -> bool:
        # The slot fell inside a wait Telegram asked for after a 429 in one of its budgets.
        return any(self._held.get(budget.name, 0.0) > slot for budget in budgets)
