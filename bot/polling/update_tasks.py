"""Handling updates concurrently, but bounded, and draining them at shutdown.

With a shared update record (the shared state), each update was claimed before it started: a task
marks it done when its handler finished, or gives the claim back when it was abandoned or
asked to come again, so that the record (and the confirmed offset) say what really happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update

from bot.runtime.observability.observers import logging_ids
from bot.runtime.updates.dedup import SharedStateUnavailable, UpdateDeduplicator
from bot.runtime.updates.redelivery import new_update, redelivery_reason

logger = logging.getLogger(__name__)


class UpdateTasks:
    """One task per update, at most `limit` at a time (a flood waits instead of piling up)."""

    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        limit: int,
        record: UpdateDeduplicator | None = None,
    ) -> None:
        self.bot = bot
        self.dispatcher = dispatcher
        self.record = record
        self.changed = asyncio.Event()  # set whenever a task finishes
        self._slots = asyncio.Semaphore(limit)
        self._running: dict[asyncio.Task[None], int] = {}
        self._settled: set[int] = set()  # recorded as done since the last take_settled()

    def __len__(self) -> int:
        return len(self._running)

    @property
    def running_ids(self) -> set[int]:
        """The update ids whose handlers run now."""
        return set(self._running.values())

    async def wait_for_slot(self) -> None:
        """Wait until another handler may start; call start() next."""
        await self._slots.acquire()

    def start(self, update: Update) -> None:
        """Handle `update` in the background, in the slot taken by wait_for_slot()."""
        task = asyncio.create_task(self._handle(update), name=f"update-{update.update_id}")
        self._running[task] = update.update_id
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        self.changed.set()

    async def _handle(self, update: Update) -> None:
        new_update(update.update_id)
        handled = False
        try:
            with logging_ids(update):
                response = await self.dispatcher.feed_update(self.bot, update)
                # A handler may return a method instead of calling it (the webhook-reply style).
                if isinstance(response, TelegramMethod):
                    await self.bot(response)
            handled = redelivery_reason() is None
        except Exception:
            handled = redelivery_reason() is None
            if handled:
                # The handlers' own error handler saw it first; this is what got past it.
                logger.exception("Update %d failed", update.update_id)
            # Handled or not, as in webhook mode: a poison update must not come back forever.
        finally:
            self._slots.release()
            await self._record(update.update_id, handled)

    def take_settled(self) -> set[int]:
        """The update ids recorded as done since the last call."""
        settled, self._settled = self._settled, set()
        return settled

    async def _record(self, update_id: int, handled: bool) -> None:
        if self.record is None:
            return
        # Not recorded (shared state unreachable): the claim expires, the update comes again.
        with contextlib.suppress(SharedStateUnavailable):
            if handled:
                await self.record.finish(update_id)
                self._settled.add(update_id)
            else:
                await self.record.release(update_id)

    async def drain(self, within: float, abandon: asyncio.Event) -> list[int]:
        """Wait for every running handler, at most `within` seconds or until `abandon` is set;
        cancel the rest and return their update ids."""
        running = dict(self._running)
        if not running:
            return []
        logger.info("Waiting for %d running handler(s) to finish.", len(running))
        all_done = asyncio.ensure_future(asyncio.wait(running))
        abandoned = asyncio.ensure_future(abandon.wait())
        await asyncio.wait(
            {all_done, abandoned}, timeout=within, return_when=asyncio.FIRST_COMPLETED
        )
        abandoned.cancel()
        all_done.cancel()  # stops the waiting only: asyncio.wait never cancels what it waits for
        left = {task: update_id for task, update_id in running.items() if not task.done()}
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left)
        return sorted(left.values())
