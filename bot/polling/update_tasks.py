"""Handling updates concurrently, but bounded, and draining them at shutdown."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update

logger = logging.getLogger(__name__)


class UpdateTasks:
    """One task per update, at most `limit` at a time (a flood waits instead of piling up)."""

    def __init__(self, bot: Bot, dispatcher: Dispatcher, limit: int) -> None:
        self.bot = bot
        self.dispatcher = dispatcher
        self._slots = asyncio.Semaphore(limit)
        self._running: dict[asyncio.Task[None], int] = {}

    def __len__(self) -> int:
        return len(self._running)

    async def wait_for_slot(self) -> None:
        """Wait until another handler may start; call start() next."""
        await self._slots.acquire()

    def start(self, update: Update) -> None:
        """Handle `update` in the background, in the slot taken by wait_for_slot()."""
        task = asyncio.create_task(self._handle(update), name=f"update-{update.update_id}")
        self._running[task] = update.update_id
        task.add_done_callback(self._running.pop)

    async def _handle(self, update: Update) -> None:
        try:
            response = await self.dispatcher.feed_update(self.bot, update)
            # A handler may return a method instead of calling it (the webhook-reply style).
            if isinstance(response, TelegramMethod):
                await self.bot(response)
        except Exception:
            # The handlers' own error handler saw it first; this is what got past it.
            logger.exception("Update %d failed", update.update_id)
        finally:
            self._slots.release()

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
