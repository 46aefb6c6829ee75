"""Which update ids were already taken, so a redelivered update is not handled twice.

Telegram redelivers an update when it did not get a 2xx in time or lost the connection. The
webhook claims each `update_id` before handling it; a second claim of the same id answers 200
without handling. `MemoryDeduplicator` remembers ids per process, which covers redeliveries to
the same worker; a Redis implementation of the same protocol (SET NX with a TTL) will share
them across workers and hosts.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol


class UpdateDeduplicator(Protocol):
    """Claims update ids; a claimed id is not claimed again while it is remembered."""

    async def claim(self, update_id: int) -> bool:
        """True the first time an id is seen (handle it), False for a duplicate (skip it)."""

    async def release(self, update_id: int) -> None:
        """Forget a claim whose handling was abandoned, so a redelivery is handled."""


class MemoryDeduplicator:
    """Per-process memory of the last `capacity` update ids (oldest forgotten first).

    Telegram redelivers within minutes, and update ids grow, so a few thousand recent ids cover
    every realistic redelivery while the memory stays bounded.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[int, None] = OrderedDict()

    async def claim(self, update_id: int) -> bool:
        """True the first time an id is seen, False for a duplicate."""
        seen = self._seen
        if update_id in seen:
            seen.move_to_end(update_id)
            return False
        seen[update_id] = None
        if len(seen) > self.capacity:
            seen.popitem(last=False)
        return True

    async def release(self, update_id: int) -> None:
        """Forget an abandoned claim."""
        self._seen.pop(update_id, None)

    def __len__(self) -> int:
        return len(self._seen)
