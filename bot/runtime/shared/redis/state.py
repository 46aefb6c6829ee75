"""The shared state on Redis (REDIS_URL): `RedisState`, the facade that builds each part from
one `RedisConnection` (see the package docstring for the parts). `bot.factory` makes it only
when REDIS_URL is set, so the `redis` package is only needed then.
"""

from __future__ import annotations

from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage

from bot.runtime.broadcast.broadcaster import BroadcastStore
from bot.runtime.observability.checks import Check
from bot.runtime.shared.redis.broadcast import RedisBroadcastStore
from bot.runtime.shared.redis.checks import redis_checks
from bot.runtime.shared.redis.connection import RedisConnection, claim_seconds, unreachable
from bot.runtime.shared.redis.flood import RedisBudget
from bot.runtime.shared.redis.fsm import SharedIsolation, SharedStorage
from bot.runtime.shared.redis.lease import read_lease, take_lease
from bot.runtime.shared.redis.record import RedisDeduplicator
from bot.runtime.shared.redis.throttle import RedisThrottleCounter
from bot.runtime.single_poller.holder import LockHolder
from bot.runtime.single_poller.lease import LeaseHolder, LeaseRefusal, SharedLease
from bot.runtime.updates.dedup import UpdateDeduplicator
from bot.settings import Settings


class RedisState:
    """The shared state on Redis (`bot.runtime.shared.state.SharedState`): one connection,
    and the parts built on it, for every worker and host of the bot."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.connection = RedisConnection(settings)

    def deduplicator(self) -> UpdateDeduplicator:
        """The shared update record."""
        return RedisDeduplicator(self.connection)

    def flood_budget(self) -> RedisBudget:
        """Flood control's budget, shared by every worker and host of the bot."""
        return RedisBudget(self.connection)

    def throttle_counter(self) -> RedisThrottleCounter:
        """Incoming throttling's counts, shared by every worker and host of the bot."""
        return RedisThrottleCounter(self.connection)

    def fsm(self) -> tuple[BaseStorage, BaseEventIsolation]:
        """aiogram's RedisStorage (keys carry the bot id) and a bounded per-chat lock."""
        settings = self.settings
        storage = SharedStorage(
            self.connection, state_ttl=settings.fsm_state_ttl, data_ttl=settings.fsm_data_ttl
        )
        return storage, SharedIsolation(storage, claim_seconds(settings))

    def broadcast_store(self) -> BroadcastStore:
        """Broadcasts and their progress in Redis: any worker or host resumes them."""
        return RedisBroadcastStore(self.connection)

    def injected(self) -> dict[str, object]:
        """Handlers receive the Redis client as `redis`."""
        return {"redis": self.connection.redis}

    def unavailable_reason(self) -> str | None:
        """Why updates are refused right now (for /readyz); None while Redis answers."""
        return self.connection.outage.reason

    async def unreachable(self) -> str | None:
        """Why Redis cannot be used right now (a sentence naming the URL), or None."""
        return await unreachable(self.connection.redis, self.settings)

    async def take_polling_lease(
        self, holder: LockHolder, bot_label: str
    ) -> SharedLease | LeaseRefusal:
        """The lease that keeps one poller across hosts, or why polling must not start."""
        return await take_lease(self.connection, holder, bot_label)

    async def lease_holder(self) -> LeaseHolder | None:
        """Who holds the polling lease (Redis errors propagate)."""
        return await read_lease(self.connection)

    async def doctor_checks(self, bot_mode: str) -> list[Check]:
        """Reachable and how fast, which version, who holds the lease, the keys."""
        return await redis_checks(self.connection, bot_mode)

    async def close(self) -> None:
        """Close the connection, which every part shares (the FSM storage's close() leaves
        it open: the process's owner, `bot.owner.BotRuntime`, closes the state once)."""
        await self.connection.close()
