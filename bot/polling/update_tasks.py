"""Handling updates concurrently, but bounded, and draining them at shutdown.

One chat's updates are handled in order, one at a time, as Telegram's webhook delivers them
(and aiogram's event isolation orders them): a chat with a handler running queues its next
updates behind it instead of taking another slot. So a chat whose replies wait for its flood
slot (1 a second) holds one slot, not all of them, and the poller goes on fetching and handling
every other chat's updates. A chat's queue is bounded (CHAT_BACKLOG): a flooding user's excess
is dropped, counted (telegram_bot_updates{outcome="dropped"}) and logged once per flood.

Each update was claimed (by the intake) before it is scheduled here; a task hands it to the
pipeline (bot/pipeline.py), which handles it and marks it done, or gives the claim back when it
was abandoned or asked to come again; updates dropped from a full queue are marked done, and
queued ones abandoned at shutdown are given back, so that the de-duplicator (and the confirmed
offset) say what really happened.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.types import Update

from bot.pipeline import UpdatePipeline
from bot.runtime.observability.metrics import count_update
from bot.runtime.observability.observers import update_type

logger = logging.getLogger(__name__)

# Updates of one chat waiting behind its running handler; past this, a chat's updates are
# dropped until its queue has room (at a reply a second, a minute of backlog is plenty).
CHAT_BACKLOG = 60


def chat_of(update: Update) -> int | None:
    """The chat whose updates are handled one at a time (its user's, outside chats; None for
    an update of no chat or user, e.g. a poll's state)."""
    event = UserContextMiddleware.resolve_event_context(update)
    return event.chat_id if event.chat_id is not None else event.user_id


class UpdateTasks:
    """One task per busy chat, at most `limit` at a time (a flood waits instead of piling up);
    a chat's later updates queue behind its running one."""

    def __init__(self, pipeline: UpdatePipeline, limit: int) -> None:
        self.pipeline = pipeline
        self.changed = asyncio.Event()  # set whenever a task finishes
        self._slots = asyncio.Semaphore(limit)
        self._running: dict[asyncio.Task[None], int] = {}  # a chat's task -> its update now
        self._queues: dict[int, deque[Update]] = {}  # a busy chat -> the updates behind it
        self._dropped: dict[int, int] = {}  # a flooding chat -> updates dropped in this flood
        self._settled: set[int] = set()  # settled since the last take_settled()

    def __len__(self) -> int:
        return len(self._running) + sum(len(queue) for queue in self._queues.values())

    @property
    def running_ids(self) -> set[int]:
        """The update ids taken in and not done: running, or queued behind their chat."""
        queued = {u.update_id for queue in self._queues.values() for u in queue}
        return set(self._running.values()) | queued

    async def queue_behind_chat(self, update: Update) -> bool:
        """Queue `update` behind its chat's running handler, or drop it when that queue is
        full (True: taken care of); False when its chat has none running: start() it."""
        chat = chat_of(update)
        queue = self._queues.get(chat) if chat is not None else None
        if chat is None or queue is None:
            return False
        if len(queue) < CHAT_BACKLOG:
            queue.append(update)
            return True
        self._drop(chat, update)
        await self.pipeline.finish(update.update_id)  # dropped on purpose: settled
        self._settled.add(update.update_id)
        return True

    def _drop(self, chat: int, update: Update) -> None:
        count_update(update_type(update), "dropped")
        dropped = self._dropped.get(chat, 0)
        self._dropped[chat] = dropped + 1
        if not dropped:
            logger.warning(
                "Chat %d sends faster than the bot can answer: %d of its updates wait, so "
                'its next ones are dropped (counted as outcome="dropped" in /metrics) until '
                "it slows down; other chats are not held up. The next line here is when it is "
                "over.",
                chat,
                CHAT_BACKLOG,
            )

    async def wait_for_slot(self) -> None:
        """Wait until another handler may start; call start() next."""
        await self._slots.acquire()

    def start(self, update: Update) -> None:
        """Handle `update`, then its chat's queue, in the background, in the slot taken by
        wait_for_slot()."""
        chat = chat_of(update)
        if chat is not None:
            self._queues[chat] = deque()
        task = asyncio.create_task(self._run_chat(chat, update), name=f"chat-{chat}")
        self._running[task] = update.update_id
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        self.changed.set()

    async def _run_chat(self, chat: int | None, update: Update) -> None:
        current: Update | None = update
        task = asyncio.current_task()
        assert task is not None
        try:
            while current is not None:
                self._running[task] = current.update_id
                if (await self.pipeline.handle(current)).settled:
                    self._settled.add(current.update_id)
                queue = self._queues.get(chat) if chat is not None else None
                current = queue.popleft() if queue else None
        finally:
            self._slots.release()
            left = self._queues.pop(chat, deque()) if chat is not None else deque()
            for abandoned in left:  # cancelled at shutdown: never started, given back
                await self.pipeline.release(abandoned.update_id)
            self._end_flood(chat)

    def _end_flood(self, chat: int | None) -> None:
        dropped = self._dropped.pop(chat, 0) if chat is not None else 0
        if dropped:
            logger.info(
                "Chat %d is answered again: its backlog is handled; %d of its updates were "
                "dropped while it flooded.",
                chat,
                dropped,
            )

    def take_settled(self) -> set[int]:
        """The update ids settled (handled, failed for good, or dropped) since the last call."""
        settled, self._settled = self._settled, set()
        return settled

    async def drain(self, within: float, abandon: asyncio.Event) -> list[int]:
        """Wait for every running handler and the updates queued behind them, at most `within`
        seconds or until `abandon` is set; cancel the rest and return their update ids."""
        running = dict(self._running)
        if not running:
            return []
        logger.info("Waiting for %d running handler(s) to finish.", len(self))
        all_done = asyncio.ensure_future(asyncio.wait(running))
        abandoned = asyncio.ensure_future(abandon.wait())
        await asyncio.wait(
            {all_done, abandoned}, timeout=within, return_when=asyncio.FIRST_COMPLETED
        )
        abandoned.cancel()
        all_done.cancel()  # stops the waiting only: asyncio.wait never cancels what it waits for
        left = [task for task in running if not task.done()]
        unfinished = sorted(self.running_ids)  # before the cancelled tasks forget their queues
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left)
        return unfinished
