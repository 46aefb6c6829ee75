"""The webhook route: Telegram POSTs one Update per request here.

Acknowledgement semantics: **handle first, then answer.** A request is checked (draining,
client address, secret, size), its body decoded and validated as an Update once, its
`update_id` claimed against redeliveries, and the update handled to the end inside the request;
only then is it answered 200. So:

- a 2xx always means "handled": an update is never acknowledged and then lost, not even when
  the worker is killed (Telegram redelivers what it did not get an answer for);
- updates of one chat stay in order across workers: Telegram sends a chat's next update only
  after the previous one was answered, so FSM conversations never race;
- Telegram's own limit (`WEBHOOK_MAX_CONNECTIONS`) is the back-pressure; `WEBHOOK_MAX_IN_FLIGHT`
  caps a worker on top of it (503 past it, Telegram retries later) instead of queueing;
- a handler must finish within Telegram's 60 s answer timeout; start longer work as your own
  background job. A redelivery of an update that is still running (here, or on another worker
  with the shared state) is answered 503, not 200: if the first handling dies, the retry handles it.

Status codes: 200 handled (also when a handler raised: the exception is logged, and a poison
update must not block its chat with redeliveries for a day) or a duplicate of a handled one;
503 shutting down, being handled, or the shared state unreachable; 405 (from aiohttp) for
another method; what is refused before the dispatcher (400, 401, 403, 408, 413, 415, 503
overloaded) is in `request_checks.py`.

Shutdown (`drain`): new updates get 503, in-flight ones get SHUTDOWN_TIMEOUT seconds to finish,
the rest are cancelled without an answer (so Telegram redelivers them) and their ids logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiohttp import web

from bot.runtime.observability.metrics import count_update
from bot.runtime.observability.observers import logging_ids, update_type
from bot.runtime.updates.dedup import Claim, SharedStateUnavailable, UpdateDeduplicator
from bot.runtime.updates.redelivery import new_update, redelivery_reason
from bot.webhook.client_ip import ClientAddressResolver
from bot.webhook.request_checks import RequestChecks, unavailable

logger = logging.getLogger(__name__)


class WebhookHandler:
    """Checks, de-duplicates and handles webhook requests; drains on shutdown."""

    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        *,
        secret: str,
        max_body_bytes: int,
        max_in_flight: int,
        read_timeout: float = 10.0,
        deduplicator: UpdateDeduplicator,
        client_addresses: ClientAddressResolver,
        ip_allowlist: bool = False,
        shared_state_down: Callable[[], str | None] = lambda: None,
        conversation_of: Callable[[Update], StorageKey | None] = lambda _update: None,
        **workflow_data: Any,
    ) -> None:
        """`read_timeout` bounds the reading of a body; `shared_state_down` says why the shared
        state is unusable, or None; `conversation_of` gives the FSM key the record may
        lock with the claim."""
        self.bot = bot
        self.dispatcher = dispatcher
        self.checks = RequestChecks(
            bot,
            secret=secret,
            max_body_bytes=max_body_bytes,
            max_in_flight=max_in_flight,
            read_timeout=read_timeout,
            client_addresses=client_addresses,
            ip_allowlist=ip_allowlist,
        )
        self.refusals = self.checks.refusals
        self.deduplicator = deduplicator
        self.workflow_data = workflow_data
        self.shared_state_down = shared_state_down
        self.conversation_of = conversation_of
        self.started = False  # set once the dispatcher's startup handlers ran
        self.draining = False
        # update_id -> the request task handling it (cancelled if the shutdown timeout passes).
        self._in_flight: dict[int, asyncio.Task[Any]] = {}
        self._idle = asyncio.Event()
        self._accepted = 0  # requests past the secret check, from their headers to their answer

    @property
    def accepted(self) -> int:
        """Requests past the secret check and not answered yet (bodies still arriving included)."""
        return self._accepted

    @property
    def not_ready(self) -> str | None:
        """Why updates are not taken now (starting, draining, the shared state down), or None."""
        if not self.started:
            return "starting"
        if self.draining:
            return "shutting down"
        return self.shared_state_down()

    @property
    def ready(self) -> bool:
        """True while updates are taken."""
        return self.not_ready is None

    @property
    def in_flight(self) -> list[int]:
        """Ids of the updates being handled right now."""
        return list(self._in_flight)

    async def handle(self, request: web.Request) -> web.Response:
        """The POST handler of WEBHOOK_PATH (see the module docstring for the status codes)."""
        if self.draining:
            return unavailable("shutting_down", "Shutting down")
        refusal = self.checks.before_body(request, self._accepted)
        if refusal is not None:
            return refusal
        # Counted from here, body reading included: slow bodies must not pass the cap.
        self._accepted += 1
        try:
            return await self._take(request)
        finally:
            self._accepted -= 1

    async def _take(self, request: web.Request) -> web.Response:
        update = await self.checks.read_update(request)
        if isinstance(update, web.Response):
            return update

        update_id = update.update_id
        try:
            claim = await self.deduplicator.claim(update_id, self.conversation_of(update))
        except SharedStateUnavailable:
            return unavailable("shared_state_unavailable", "Shared state unavailable")
        if claim is Claim.DONE:
            logger.debug("Update %d is a redelivery of a handled update; skipped", update_id)
            count_update(update_type(update), "duplicate")
            return web.Response()
        if claim is Claim.RUNNING:
            # Not 200: if the first handling dies, this retry is what handles it.
            return unavailable("being_handled", "Being handled")
        return await self._handle_claimed(update)

    async def _handle_claimed(self, update: Update) -> web.Response:
        update_id = update.update_id
        task = asyncio.current_task()
        assert task is not None
        self._in_flight[update_id] = task
        new_update(update_id)
        try:
            with logging_ids(update):
                result = await self.dispatcher.feed_update(self.bot, update, **self.workflow_data)
                if isinstance(result, TelegramMethod):
                    # A handler may return a method instead of calling it ("reply in webhook").
                    await self.dispatcher.silent_call_request(self.bot, result)
        except asyncio.CancelledError:
            # Abandoned at shutdown: unanswered, so Telegram redelivers it; let that be handled.
            await self._forget(update_id)
            raise
        except Exception:
            if redelivery_reason() is None:
                logger.exception(
                    "Update %d failed in a handler; answered 200 anyway so that Telegram does "
                    "not redeliver it",
                    update_id,
                )
        finally:
            del self._in_flight[update_id]
            if self.draining and not self._in_flight:
                self._idle.set()
        if redelivery_reason() is not None:
            await self._forget(update_id)
            return unavailable("not_handled", "Not handled")
        try:
            await self.deduplicator.finish(update_id)
        except SharedStateUnavailable:
            logger.warning(
                "Update %d was handled; the shared record could not mark it done", update_id
            )
        return web.Response()

    async def _forget(self, update_id: int) -> None:
        # Not released (shared state unreachable): the claim expires (UPDATE_CLAIM_TTL) instead.
        with contextlib.suppress(SharedStateUnavailable):
            await self.deduplicator.release(update_id)

    async def drain(self, grace: float) -> list[int]:
        """Refuse new updates, give in-flight ones `grace` seconds, cancel the rest.

        Returns the ids of the abandoned (cancelled, unanswered) updates.
        """
        self.draining = True
        self.refusals.flush()
        if self._in_flight:
            logger.info("Draining: waiting for %d update(s) in flight", len(self._in_flight))
            self._idle.clear()
            try:
                async with asyncio.timeout(grace):
                    await self._idle.wait()
            except TimeoutError:
                pass
        abandoned = sorted(self._in_flight)
        if abandoned:
            logger.error(
                "Shutdown timeout (%s s) reached: cancelling updates %s; they were not "
                "acknowledged, so Telegram will redeliver them",
                grace,
                ", ".join(map(str, abandoned)),
            )
            tasks = list(self._in_flight.values())
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=5)
        return abandoned
