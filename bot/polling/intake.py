"""Which fetched updates start, and which offset the next getUpdates confirms.

An offset tells Telegram "every update below it was received": it must never pass an update
that could still be lost. Every fetched update is claimed by the pipeline (bot/pipeline.py)
against the runtime's de-duplicator before it is scheduled; one that is running or done is
skipped. What the offset then promises depends on that de-duplicator:

- Without the shared state, the de-duplicator is this process's memory, and an update is
  confirmed once its handler *started*, as aiogram does. So: a redelivery after a restart is
  not recognised (the memory is gone; Telegram rarely redelivers a confirmed update), and a
  poller killed with kill -9 mid-handler loses the updates confirmed but not finished. A
  normal stop (Ctrl+C, SIGTERM) loses nothing: running handlers get SHUTDOWN_TIMEOUT seconds.
- With the shared state, an update is confirmed once its handler *finished*: the
  offset stops below the oldest update not yet done, here or on another host. A poller killed
  with kill -9 mid-handler then loses nothing (its claim expires and the next poller handles
  the update) and no handover handles anything twice.
- Except under a backlog: getUpdates returns at most 100 updates from the offset, so an offset
  held by a busy chat's running and queued updates would hide every other chat's new ones.
  When more than PINNED_WINDOW updates lie between the offset and the last one fetched, the
  offset passes the updates this poller has taken in (running or queued behind their chat,
  to be handled here), never one it has not: only a poller killed with kill -9 during such a
  backlog loses those (logged once per backlog).
- An update aiogram cannot read (`Unreadable`, logged by the runner) is confirmed as soon as
  everything before it in its batch was taken: handling it can never succeed.
- The shared state unreachable at a claim (the pipeline's `unavailable`): the batch stops
  there, unconfirmed, and the poller waits (backing off) before fetching it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig

from bot.pipeline import Outcome, UpdatePipeline
from bot.polling.update_tasks import UpdateTasks
from bot.runtime.stop_signals import StopRequest
from bot.runtime.updates.unreadable import Unreadable

logger = logging.getLogger(__name__)

# Updates the shared de-duplicator's offset may hold back before it passes the ones taken in here:
# half of what one getUpdates returns, so a busy chat never hides the others.
PINNED_WINDOW = 50
# Seconds before looking again when nothing new could start (every update fetched is still
# running or held): getUpdates would answer at once with the same updates.
RECHECK_AFTER = 1.0
UNAVAILABLE_BACKOFF = BackoffConfig(min_delay=0.5, max_delay=10.0, factor=2, jitter=0)

# One getUpdates batch, in order.
Batch = Sequence[Update | Unreadable]


class UpdateIntake:
    """Takes fetched updates in; `offset` is what the next getUpdates may confirm."""

    def __init__(
        self,
        pipeline: UpdatePipeline,
        tasks: UpdateTasks,
        stop: StopRequest,
        *,
        confirm_when_finished: bool,
    ) -> None:
        """`confirm_when_finished`: the offset waits for handlers to finish (with the shared
        state), rather than for them to start (see the module docstring)."""
        self.pipeline = pipeline
        self.tasks = tasks
        self.stop = stop
        self.confirm_when_finished = confirm_when_finished
        self._next: int | None = None  # the last fetched update + 1
        self._pending: set[int] = set()  # fetched, not known to be done
        self._unavailable_backoff = Backoff(UNAVAILABLE_BACKOFF)
        self._passing = False  # the offset passes updates taken in here (a backlog)

    @property
    def offset(self) -> int | None:
        """The next getUpdates offset (None before the first update)."""
        self._pending -= self.tasks.take_settled()
        if not self._pending:
            return self._next
        oldest = min(self._pending)
        assert self._next is not None  # something is pending: something was fetched
        if self._next - oldest <= PINNED_WINDOW:
            self._passing = False
            return oldest
        ours = self.tasks.running_ids
        not_ours = [update_id for update_id in self._pending if update_id not in ours]
        if not self._passing:
            self._passing = True
            logger.warning(
                "A backlog of %d updates: updates taken in by this poller are confirmed before "
                "they finish, so that other chats' new updates are fetched; a poller killed "
                "(kill -9) before they finish would lose them.",
                self._next - oldest,
            )
        return min(not_ours) if not_ours else self._next

    async def take(self, updates: Batch) -> None:
        """Claim and start what may start; returns once the next getUpdates makes sense."""
        started = 0
        for update in updates:
            if self.stop.is_set():
                return  # fetched but not started: not confirmed, so Telegram delivers it again
            update_id = update.update_id
            if isinstance(update, Unreadable):
                self._next = update_id + 1
                continue  # never pending: nothing can handle it
            if update_id in self.tasks.running_ids:
                self._next = update_id + 1
                continue  # ours, still running: fetched again because the offset waits for it
            refused = await self.pipeline.claim(update)
            if refused is Outcome.UNAVAILABLE:
                await self.stop.sleep(next(self._unavailable_backoff))  # logged by the state
                return
            self._unavailable_backoff.reset()
            if refused is None:
                self._hold(update_id)
                await self._start(update)  # a stop while it waits for a slot: not confirmed
                started += 1
            elif refused is Outcome.IN_PROGRESS:
                self._hold(update_id)  # running elsewhere: the offset waits for it
            self._next = update_id + 1
        if not started and self._pending:
            await self._wait_for_progress()

    def _hold(self, update_id: int) -> None:
        # The offset waits for it until it is settled; confirmed at once without the shared state.
        if self.confirm_when_finished:
            self._pending.add(update_id)

    async def _start(self, update: Update) -> None:
        # Behind its chat's running handler when there is one: a busy chat never makes the
        # poller wait for a slot, so other chats' updates go on being fetched.
        if not await self.tasks.queue_behind_chat(update):
            await self.stop.until_stopped(self.tasks.wait_for_slot())
            self.tasks.start(update)

    async def _wait_for_progress(self) -> None:
        # Until one of our handlers finishes, or a moment passes (a claim elsewhere may end).
        self.tasks.changed.clear()
        with contextlib.suppress(TimeoutError):
            await self.stop.until_stopped(
                asyncio.wait_for(self.tasks.changed.wait(), RECHECK_AFTER)
            )
