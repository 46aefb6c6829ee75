"""Broadcast: one message to many chats at Telegram's limit, in the background, surviving a
restart without sending anyone the message twice.

`Broadcaster.start()` saves the job and sends in a task of its own, in flood control's bulk
lane (replies to users keep their slots). Each chat's progress is written down: `sending`
right when its slot has come, before the request goes, then `sent`, `blocked` (403) or
`failed`. After a crash (kill -9 included) the job resumes at the next start, from what is
written: a chat without an entry gets the message, a chat left at `sending` does not (it may
have got it: the request was on its way) and is counted as `unknown` in the report.

Progress is kept in the shared state when there is one (any worker or host resumes it),
otherwise in files in LOCK_DIR (the machine's own processes). One process runs a job at a
time (a lease in the shared state, an OS file lock otherwise); the others look again
every RESUME_INTERVAL seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError, TelegramNetworkError

from bot.runtime.outgoing.lanes import bulk_lane, on_turn

logger = logging.getLogger(__name__)

# Messages of one job in flight at once: enough to keep the budget's bulk horizon booked.
CONCURRENCY = 8
# Seconds between two looks for an unfinished job nobody runs (its runner died).
RESUME_INTERVAL = 15.0
# Seconds a stop waits for the messages on their way (so none is left unknown).
STOP_GRACE = 5.0
SENDING, SENT, BLOCKED, FAILED = "sending", "sent", "blocked", "failed"
# Told each chat that answered 403 (the bot was blocked or removed), e.g. to mark it so.
BlockedListener = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class BroadcastJob:
    """What to send to whom; `report_to` is the chat that gets the report at the end."""

    id: str
    text: str
    chat_ids: tuple[int, ...]
    report_to: int | None = None


@dataclass
class BroadcastReport:
    """How a broadcast went, chat by chat counted."""

    job_id: str
    total: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def sent(self) -> int:
        """Chats that got the message."""
        return self.counts.get(SENT, 0)

    @property
    def blocked(self) -> int:
        """Chats whose user blocked the bot (403)."""
        return self.counts.get(BLOCKED, 0)

    @property
    def failed(self) -> int:
        """Chats Telegram refused otherwise (chat not found, 429 past FLOOD_RETRIES, ...)."""
        return self.counts.get(FAILED, 0)

    @property
    def unknown(self) -> int:
        """Chats whose request was on its way when the bot stopped: not sent again."""
        return self.counts.get(SENDING, 0)

    def summary(self) -> str:
        """One line for the admin who started it."""
        line = (
            f"Broadcast {self.job_id} is done: {self.sent} of {self.total} chats got it, "
            f"{self.blocked} blocked the bot, {self.failed} failed"
        )
        if self.unknown:
            line += (
                f", {self.unknown} unknown (the bot stopped while sending to them; not sent "
                "again, so that no one gets it twice)"
            )
        return line + "."


class BroadcastStore(Protocol):
    """Where jobs and their progress are kept (`files.py`, or the shared state's)."""

    async def save(self, job: BroadcastJob) -> bool:
        """Keep a new job; False when a job with its id exists (a repeated start)."""

    async def unfinished(self) -> list[str]:
        """Ids of the jobs not finished yet."""

    def running(self, job_id: str) -> contextlib.AbstractAsyncContextManager[BroadcastJob | None]:
        """The job, held by this process while inside; None if another process runs it."""

    async def progress(self, job_id: str) -> dict[int, str]:
        """Each chat's state so far."""

    async def note(self, job_id: str, chat_id: int, state: str) -> None:
        """Write down one chat's state."""

    async def finish(self, job_id: str) -> None:
        """Mark the job finished (its progress is kept for a while)."""


class Broadcaster:
    """Starts broadcasts, runs them in the background, resumes unfinished ones."""

    def __init__(self, store: BroadcastStore, *, paced: bool = True) -> None:
        self.store = store
        # Without flood control (FLOOD_CONTROL=false) no slot is awaited: note before sending.
        self.paced = paced
        self._tasks: dict[str, asyncio.Task[BroadcastReport | None]] = {}
        self._resumer: asyncio.Task[None] | None = None
        self._stopping = False
        self._blocked_listeners: list[BlockedListener] = []

    def on_blocked(self, listener: BlockedListener) -> None:
        """Call `listener(chat_id)` for each chat that answers 403 (resumed jobs included);
        a failing listener is logged and the broadcast goes on."""
        self._blocked_listeners.append(listener)

    async def start(
        self, bot: Bot, job_id: str, chat_ids: Sequence[int], text: str, report_to: int | None
    ) -> bool:
        """Send `text` to `chat_ids` in the background; `report_to` gets the report. False
        when a job with this id exists already (the same command delivered again)."""
        job = BroadcastJob(job_id, text, tuple(dict.fromkeys(chat_ids)), report_to)
        if not await self.store.save(job):
            return False
        self._launch(bot, job_id)
        return True

    async def resume(self, bot: Bot) -> None:
        """Startup hook: run the unfinished jobs, now and every RESUME_INTERVAL seconds."""
        self._resumer = asyncio.create_task(self._resume_forever(bot), name="broadcast-resume")

    async def stop(self) -> None:
        """Shutdown hook: stop sending (the progress is kept; the next start resumes). The
        messages on their way get STOP_GRACE seconds to arrive."""
        self._stopping = True
        if self._resumer is not None:
            self._resumer.cancel()
        running = [task for task in self._tasks.values() if not task.done()]
        if running:
            await asyncio.wait(running, timeout=STOP_GRACE)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, *filter(None, [self._resumer]), return_exceptions=True)

    async def wait(self, job_id: str) -> BroadcastReport | None:
        """The report of a job this process runs, once it is done (None: not run here)."""
        task = self._tasks.get(job_id)
        return await task if task is not None else None

    async def _resume_forever(self, bot: Bot) -> None:
        while True:
            try:
                for job_id in await self.store.unfinished():
                    self._launch(bot, job_id)
            except Exception:
                logger.exception("Could not look for unfinished broadcasts; trying again later.")
            await asyncio.sleep(RESUME_INTERVAL)

    def _launch(self, bot: Bot, job_id: str) -> None:
        if job_id in self._tasks and not self._tasks[job_id].done():
            return
        task = asyncio.create_task(self._run(bot, job_id), name=f"broadcast-{job_id}")
        self._tasks[job_id] = task

    async def _run(self, bot: Bot, job_id: str) -> BroadcastReport | None:
        try:
            async with self.store.running(job_id) as job:
                if job is None:
                    return None  # another process runs it
                report = await self._send_all(bot, job)
                if self._stopping:
                    return None  # not finished: the next start resumes it
                await self.store.finish(job_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception(
                "Broadcast %s stopped; it is tried again within %.0f s.", job_id, RESUME_INTERVAL
            )
            return None
        logger.info(report.summary())
        if job.report_to is not None:
            try:
                await bot.send_message(job.report_to, report.summary(), parse_mode=None)
            except TelegramAPIError as exc:
                logger.warning("Could not send the report of broadcast %s (%s)", job_id, exc)
        return report

    async def _send_all(self, bot: Bot, job: BroadcastJob) -> BroadcastReport:
        progress = await self.store.progress(job.id)
        todo = iter([chat for chat in job.chat_ids if chat not in progress])
        if progress:
            logger.info(
                "Broadcast %s resumes: %d of %d chats are done.",
                job.id,
                len(progress),
                len(job.chat_ids),
            )

        async def worker() -> None:
            for chat_id in todo:  # one iterator: each chat is taken by one worker
                if self._stopping:
                    return
                progress[chat_id] = await self._send_one(bot, job, chat_id)

        # A task group: one worker's failure (the shared state gone) stops the others, so that
        # nothing is sent once the job is let go.
        with bulk_lane():
            async with asyncio.TaskGroup() as group:
                for _ in range(CONCURRENCY):
                    group.create_task(worker())
        report = BroadcastReport(job.id, len(job.chat_ids))
        for state in progress.values():
            report.counts[state] = report.counts.get(state, 0) + 1
        return report

    async def _send_one(self, bot: Bot, job: BroadcastJob, chat_id: int) -> str:
        async def sending() -> None:
            await self.store.note(job.id, chat_id, SENDING)

        if not self.paced:
            await sending()
        try:
            with on_turn(sending):
                await bot.send_message(chat_id, job.text, parse_mode=None)
            state = SENT
        except TelegramForbiddenError:
            state = BLOCKED
            await self._tell_blocked(job, chat_id)
        except TelegramNetworkError as exc:
            # Telegram may have got it: left at `sending`, it counts as unknown.
            logger.warning("Broadcast %s: chat %d unknown (%s)", job.id, chat_id, exc)
            return SENDING
        except TelegramAPIError as exc:
            logger.debug("Broadcast %s: chat %d failed (%s)", job.id, chat_id, exc)
            state = FAILED
        await self.store.note(job.id, chat_id, state)
        return state

    async def _tell_blocked(self, job: BroadcastJob, chat_id: int) -> None:
        for listener in self._blocked_listeners:
            try:
                await listener(chat_id)
            except Exception:
                # Best effort: the next message to this chat gets the 403 again.
                logger.warning(
                    "Broadcast %s: chat %d blocked the bot; telling %r failed",
                    job.id,
                    chat_id,
                    listener,
                    exc_info=True,
                )
