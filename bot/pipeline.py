"""One update's way through the bot, the same in polling and in webhook mode.

    claim -> handle (feed_update) -> the reply -> finish or release -> count -> an Outcome

`UpdatePipeline(runtime).process(update)` takes an update the whole way and returns what became
of it. The modes differ only in what they do with the outcome: the webhook maps it to an HTTP
status (bot/webhook/handler.py), polling schedules updates in per-chat queues and confirms
offsets from it (bot/polling/). Polling claims an update when it is fetched and handles it later
in its chat's task, so the two halves, `claim()` and `handle()`, are callable alone.

The de-duplicator is the runtime's (`BotRuntime.deduplicator`): with the shared state, shared by
every worker and host; without it, this process's memory (the last 10,000 ids). Neither a
handler's exception nor an unreachable shared state ever escapes: each is an outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging

from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import TelegramMethod
from aiogram.types import Update

from bot.owner import BotRuntime
from bot.runtime.observability.metrics import count_update
from bot.runtime.observability.observers import logging_ids, update_type
from bot.runtime.updates.dedup import Claim, SharedStateUnavailable, conversation_key
from bot.runtime.updates.redelivery import new_update, redelivery_reason

logger = logging.getLogger(__name__)


class Outcome(enum.Enum):
    """What became of one update."""

    HANDLED = "handled"  # the handlers ran to the end; marked done
    FAILED = "failed"  # a handler raised past the handlers' error handler: logged, marked done
    DUPLICATE = "duplicate"  # handled before (a redelivery): skipped and counted
    IN_PROGRESS = "in_progress"  # being handled now, here or elsewhere: it must come again later
    UNAVAILABLE = "unavailable"  # the shared state (or a service raising SharedStateUnavailable)
    # could not be reached: not handled, released, it must come again
    NOT_HANDLED = "not_handled"  # the handling asked to come again (redelivery.py): released

    @property
    def settled(self) -> bool:
        """Whether Telegram may forget the update: it was handled (or failed for good)."""
        return self in SETTLED


# A poison update counts as handled: redelivering it would block its chat for a day.
SETTLED = frozenset({Outcome.HANDLED, Outcome.FAILED, Outcome.DUPLICATE})


class UpdatePipeline:
    """Claims, handles, answers, finishes or releases, and counts the updates of one runtime."""

    def __init__(self, runtime: BotRuntime) -> None:
        self.bot = runtime.bot
        self.dispatcher = runtime.dispatcher
        self.deduplicator = runtime.deduplicator
        # Only the shared de-duplicator locks the conversation with the claim (one round trip).
        self._locks_conversations = runtime.shares_state

    async def process(self, update: Update) -> Outcome:
        """Take `update` the whole way: claim it, then, if it is new, handle it."""
        refused = await self.claim(update)
        return refused if refused is not None else await self.handle(update)

    async def claim(self, update: Update) -> Outcome | None:
        """Claim `update` against redeliveries: None when it is new (handle() it next), else
        DUPLICATE (counted), IN_PROGRESS or UNAVAILABLE."""
        try:
            claim = await self.deduplicator.claim(update.update_id, self._conversation(update))
        except SharedStateUnavailable:
            return Outcome.UNAVAILABLE  # logged once by the shared state
        if claim is Claim.DONE:
            logger.debug("Update %d is a redelivery of a handled update; skipped", update.update_id)
            count_update(update_type(update), "duplicate")
            return Outcome.DUPLICATE
        if claim is Claim.RUNNING:
            return Outcome.IN_PROGRESS
        return None

    async def handle(self, update: Update) -> Outcome:
        """Handle a claimed update, send the method a handler returned, then finish the claim
        (HANDLED, FAILED) or release it (NOT_HANDLED, UNAVAILABLE, or cancelled: re-raised)."""
        update_id = update.update_id
        new_update(update_id)
        outcome = Outcome.HANDLED
        try:
            with logging_ids(update):
                result = await self.dispatcher.feed_update(self.bot, update)
                if isinstance(result, TelegramMethod):
                    # A handler may return a method instead of calling it ("reply in webhook").
                    await self.dispatcher.silent_call_request(self.bot, result)
        except asyncio.CancelledError:
            # Abandoned at shutdown: not confirmed or answered, so it comes again; let that count.
            await self.release(update_id)
            raise
        except SharedStateUnavailable:
            outcome = Outcome.UNAVAILABLE
        except Exception:
            outcome = Outcome.FAILED
            if redelivery_reason() is None:
                # The handlers' own error handler saw it first; this is what got past it.
                logger.exception(
                    "Update %d failed in a handler; it counts as handled (answered 200, or "
                    "confirmed), so that Telegram does not deliver it again",
                    update_id,
                )
        if redelivery_reason() is not None:
            outcome = Outcome.NOT_HANDLED
        if not outcome.settled:
            await self.release(update_id)
            return outcome
        await self.finish(update_id)
        return outcome

    async def finish(self, update_id: int) -> None:
        """Mark a claimed update done; unreachable shared state: a WARNING, its claim expires."""
        try:
            await self.deduplicator.finish(update_id)
        except SharedStateUnavailable:
            logger.warning(
                "Update %d was handled; the shared record could not mark it done", update_id
            )

    async def release(self, update_id: int) -> None:
        """Give a claim back, so that the update is handled when it comes again."""
        # Not released (shared state unreachable): the claim expires (UPDATE_CLAIM_TTL) instead.
        with contextlib.suppress(SharedStateUnavailable):
            await self.deduplicator.release(update_id)

    def _conversation(self, update: Update) -> StorageKey | None:
        if not self._locks_conversations:
            return None
        return conversation_key(self.dispatcher, self.bot, update)
