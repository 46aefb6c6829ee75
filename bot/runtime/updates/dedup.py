"""Which update ids are being handled or were handled, so that a redelivery is never handled
twice and never skipped while its first handling may still fail.

Telegram redelivers an update when it did not get a 2xx in time, lost the connection, or (when
polling) the offset was not confirmed. Each update is claimed before it is handled:

- `NEW`: nobody has it: handle it, then `finish()` (or `release()` if the handling was
  abandoned, so that the redelivery is handled);
- `RUNNING`: being handled right now, here or by another worker: the webhook answers 503 so
  that Telegram retries later; if the first handling dies, the claim expires and the retry
  handles it;
- `DONE`: handled already: the webhook answers 200 without handling it again.

`MemoryDeduplicator` covers one process; the shared state's (`SharedState.deduplicator`)
shares the record between every worker and host of the bot. When the shared record cannot be
reached, `claim()` raises `SharedStateUnavailable`: the caller answers 503 or pauses, never
acknowledges.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from typing import Protocol

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.event.bases import CancelHandler
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import Update


class SharedStateUnavailable(CancelHandler):
    """The shared state cannot be reached right now; the message names it, password masked.

    An aiogram CancelHandler: raised while an update is handled, it passes the handlers' own
    error handler by (no apology is sent for an update that will come again)."""


class Claim(enum.Enum):
    """Where an update stands when it is claimed."""

    NEW = "new"
    RUNNING = "running"
    DONE = "done"


class UpdateDeduplicator(Protocol):
    """Claims update ids for handling; see the module docstring."""

    async def claim(self, update_id: int, conversation: StorageKey | None = None) -> Claim:
        """Claim `update_id`: NEW (yours to handle), RUNNING (someone handles it), DONE.
        `conversation` is the FSM key of the update's conversation (None: it has none)."""

    async def finish(self, update_id: int) -> None:
        """The claimed update was handled: remember it as done."""

    async def release(self, update_id: int) -> None:
        """The claimed update's handling was abandoned: forget the claim, so it is handled
        when it comes again."""


class MemoryDeduplicator:
    """The record of one process: the updates running now, and the last `capacity` done.

    Telegram redelivers within minutes and update ids grow, so a few thousand recent ids
    cover every realistic redelivery while the memory stays bounded.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._running: set[int] = set()
        self._done: OrderedDict[int, None] = OrderedDict()

    async def claim(self, update_id: int, conversation: StorageKey | None = None) -> Claim:
        """NEW the first time, RUNNING while it is handled, DONE once it was."""
        if update_id in self._running:
            return Claim.RUNNING
        if update_id in self._done:
            self._done.move_to_end(update_id)
            return Claim.DONE
        self._running.add(update_id)
        return Claim.NEW

    async def finish(self, update_id: int) -> None:
        """Remember it as done (the oldest done ids are forgotten past `capacity`)."""
        self._running.discard(update_id)
        self._done[update_id] = None
        if len(self._done) > self.capacity:
            self._done.popitem(last=False)

    async def release(self, update_id: int) -> None:
        """Forget an abandoned claim."""
        self._running.discard(update_id)

    def __len__(self) -> int:
        return len(self._running) + len(self._done)


def conversation_key(dispatcher: Dispatcher, bot: Bot, update: Update) -> StorageKey | None:
    """The FSM key of the update's conversation, resolved by aiogram's own middlewares' rules
    (None when the update belongs to no chat and user)."""
    event = UserContextMiddleware.resolve_event_context(update)
    context = dispatcher.fsm.resolve_context(
        bot=bot,
        chat_id=event.chat_id,
        user_id=event.user_id,
        thread_id=event.thread_id,
        business_connection_id=event.business_connection_id,
    )
    return context.key if context is not None else None
