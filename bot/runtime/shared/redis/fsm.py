"""FSM state and per-chat order on Redis: aiogram's RedisStorage with keys that carry the bot
id, and an event isolation that says when a chat's lock was lost or could not be taken.

aiogram's own RedisEventIsolation waits for a lock forever and never extends it; a release
cancelled at shutdown (redis-py) leaves the chat locked until the lock's TTL. Here the wait
is bounded, the lock outlives any handler (UPDATE_CLAIM_TTL), the release is shielded from
cancellation, and each of those cases is one log line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aiogram.dispatcher.event.bases import CancelHandler
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.exceptions import LockNotOwnedError

from bot.runtime.shared.redis.connection import REDIS_ERRORS, RedisConnection, UpdateScope
from bot.runtime.updates.redelivery import ask_for_redelivery
from bot.settings.rules import TELEGRAM_ANSWER_TIMEOUT

logger = logging.getLogger(__name__)


class ConversationBusy(CancelHandler):
    """A conversation's lock was not free in time: the update comes again later (an aiogram
    CancelHandler, so the handlers' error handler does not apologise for it)."""


class SharedStorage(RedisStorage):
    """RedisStorage whose failures are outages (logged once, and the update comes again),
    and which answers get_state from the update's scope when its claim read the state."""

    def __init__(
        self, connection: RedisConnection, state_ttl: int | None = None, data_ttl: int | None = None
    ) -> None:
        super().__init__(connection.redis, connection.keys, state_ttl=state_ttl, data_ttl=data_ttl)
        self.connection = connection
        self.outage = connection.outage

    def _scope(self, key: StorageKey) -> UpdateScope | None:
        scope = self.connection.scope()
        if scope is not None and scope.state_key == self.key_builder.build(key, "state"):
            return scope
        return None

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        """aiogram's, guarded (and kept in the update's scope)."""
        await self.outage.guard(
            "fsm_set_state", lambda: super(SharedStorage, self).set_state(key, state)
        )
        if (scope := self._scope(key)) is not None:
            scope.state = state.state if isinstance(state, State) else state

    async def get_state(self, key: StorageKey) -> str | None:
        """aiogram's, guarded; from the update's scope when the claim read it."""
        if (scope := self._scope(key)) is not None:
            return scope.state
        return await self.outage.guard(
            "fsm_get_state", lambda: super(SharedStorage, self).get_state(key)
        )

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """aiogram's, guarded."""
        await self.outage.guard(
            "fsm_set_data", lambda: super(SharedStorage, self).set_data(key, data)
        )

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        """aiogram's, guarded."""
        return await self.outage.guard(
            "fsm_get_data", lambda: super(SharedStorage, self).get_data(key)
        )

    async def close(self) -> None:
        """Nothing to close: the connection is the shared state's, which its owner closes
        (aiogram's RedisStorage would close the whole client here)."""


class SharedIsolation(BaseEventIsolation):
    """One update of a conversation at a time, across every worker and host."""

    def __init__(self, storage: SharedStorage, lock_seconds: int) -> None:
        self.storage = storage
        self.lock_seconds = lock_seconds
        # Telegram stops waiting for a webhook's answer after 60 s: no point waiting longer.
        self.wait_seconds = min(lock_seconds, TELEGRAM_ANSWER_TIMEOUT - 10)

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        """Hold the conversation's lock while its handler runs (the update's claim may hold it
        already: then the record frees it when the update is done)."""
        name = self.storage.key_builder.build(key, "lock")
        scope = self.storage.connection.scope()
        if scope is not None and scope.lock_name == name:
            yield None
            return
        lock = self.storage.redis.lock(
            name, timeout=self.lock_seconds, blocking_timeout=self.wait_seconds
        )
        if not await self.storage.outage.guard("fsm_lock", lock.acquire):
            logger.error(
                "Chat %s: its lock was not free within %d s (a handler elsewhere still runs, or "
                "stopped without releasing it); this update comes again later.",
                key.chat_id,
                self.wait_seconds,
            )
            ask_for_redelivery(f"the lock of chat {key.chat_id} was busy")
            raise ConversationBusy(f"the lock of chat {key.chat_id} was busy")
        try:
            yield None
        finally:
            await self._release(lock, key)

    async def _release(self, lock: Any, key: StorageKey) -> None:
        try:
            # Shielded: a release cancelled half-way would leave the chat locked until the TTL.
            await asyncio.shield(lock.release())
        except LockNotOwnedError:
            logger.error(
                "Chat %s: its lock expired while the handler ran (longer than %d s, "
                "UPDATE_CLAIM_TTL); the chat's next update may have run at the same time.",
                key.chat_id,
                self.lock_seconds,
            )
        except REDIS_ERRORS as exc:
            self.storage.outage.failed(exc)  # the lock expires by itself after its TTL

    async def close(self) -> None:
        """Nothing to close: the locks live in the shared state's connection."""
