"""The shared state: what one process of the bot shares with its other processes (workers,
hosts), as the rest of `bot/` sees it.

Without it (the default), every process keeps its state to itself: FSM state and the record
of handled updates in memory, flood budgets and throttling counts per process, broadcast
progress in files in LOCK_DIR, one poller per machine by the local lock. With it, those are
shared by every worker and host, and one polling lease keeps one poller across hosts. The
core only knows this interface; `bot.factory.create_shared_state` is the one place that
makes an implementation from the settings.
"""

from __future__ import annotations

from typing import Protocol

from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage

from bot.runtime.broadcast.broadcaster import BroadcastStore
from bot.runtime.observability.checks import Check
from bot.runtime.outgoing.flood import FloodBudget
from bot.runtime.single_poller.holder import LockHolder
from bot.runtime.single_poller.lease import LeaseHolder, LeaseRefusal, SharedLease
from bot.runtime.updates.dedup import UpdateDeduplicator
from bot.runtime.updates.throttle import ThrottleCounter


class SharedState(Protocol):
    """What one process shares with the bot's other processes."""

    def deduplicator(self) -> UpdateDeduplicator:
        """The update record every process of the bot sees."""

    def flood_budget(self) -> FloodBudget:
        """Flood control's budget, shared by every process of the bot."""

    def throttle_counter(self) -> ThrottleCounter:
        """Incoming throttling's counts per user, shared by every process."""

    def fsm(self) -> tuple[BaseStorage, BaseEventIsolation]:
        """FSM storage and per-chat event isolation, shared by every process."""

    def broadcast_store(self) -> BroadcastStore:
        """Where broadcasts and their progress are kept, so that any process resumes them."""

    def injected(self) -> dict[str, object]:
        """Objects handlers receive by name (aiogram's dependency injection)."""

    def unavailable_reason(self) -> str | None:
        """Why updates are not taken right now (the state cannot be reached), or None."""

    async def unreachable(self) -> str | None:
        """Asks the state now: why it cannot be used (a sentence with the fix), or None."""

    async def take_polling_lease(
        self, holder: LockHolder, bot_label: str
    ) -> SharedLease | LeaseRefusal:
        """The polling lease, taken and not yet renewing; or why polling must not start."""

    async def lease_holder(self) -> LeaseHolder | None:
        """Who holds the polling lease right now, or None when it is free."""

    async def doctor_checks(self, bot_mode: str) -> list[Check]:
        """The doctor's checks of the state (reachable, its lease holder, its keys)."""

    async def close(self) -> None:
        """Close its connections."""
