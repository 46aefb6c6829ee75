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
update must not block its chat with redeliveries for a day), a duplicate of a handled one, or
an update aiogram cannot read although the secret was right (logged as an ERROR); 400 not
JSON, not an Update, or a body its framing or encoding contradicts; 401 missing or wrong
secret; 403 not from Telegram's networks (when the allowlist is on); 408 body not received in
WEB_READ_TIMEOUT; 413 body too large; 415 compressed (Telegram never compresses); 503
overloaded, shutting down, being handled, or the shared state unreachable; 405 (from
aiohttp) for another method. Refusals never reach the dispatcher and are logged as a bounded
summary per reason (`refusals.py`), never with a secret's value.

Shutdown (`drain`): new updates get 503, in-flight ones get SHUTDOWN_TIMEOUT seconds to finish,
the rest are cancelled without an answer (so Telegram redelivers them) and their ids logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import ValidationError

from bot.runtime.observability.metrics import count_refusal, count_update
from bot.runtime.observability.observers import logging_ids, update_type
from bot.runtime.updates.dedup import Claim, SharedStateUnavailable, UpdateDeduplicator
from bot.runtime.updates.redelivery import new_update, redelivery_reason
from bot.runtime.updates.unreadable import (
    Unreadable,
    first_problem,
    report_unreadable,
    update_id_of,
)
from bot.webhook.client_ip import ClientAddressResolver, is_telegram_address
from bot.webhook.refusals import RefusalLog

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


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
        self.max_body_bytes = max_body_bytes
        self.max_in_flight = max_in_flight
        self.read_timeout = read_timeout
        self.deduplicator = deduplicator
        self.client_addresses = client_addresses
        self.ip_allowlist = ip_allowlist
        self.workflow_data = workflow_data
        self.shared_state_down = shared_state_down
        self.conversation_of = conversation_of
        self.started = False  # set once the dispatcher's startup handlers ran
        self.draining = False
        self._secret = secret.encode("ascii")
        self._validation_context = {"bot": bot}
        # update_id -> the request task handling it (cancelled if the shutdown timeout passes).
        self._in_flight: dict[int, asyncio.Task[Any]] = {}
        self._idle = asyncio.Event()
        self._accepted = 0  # requests past the secret check, from their headers to their answer
        self.refusals = RefusalLog("Webhook request")

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
        refusal = self._check_request(request)
        if refusal is not None:
            return refusal
        # Counted from here, body reading included: slow bodies must not pass the cap.
        self._accepted += 1
        try:
            return await self._take(request)
        finally:
            self._accepted -= 1

    async def _take(self, request: web.Request) -> web.Response:
        update = await self._read_update(request)
        if isinstance(update, web.Response):
            return update

        update_id = update.update_id
        try:
            claim = await self.deduplicator.claim(update_id, self.conversation_of(update))
        except SharedStateUnavailable:
            return _unavailable("shared_state_unavailable", "Shared state unavailable")
        if claim is Claim.DONE:
            logger.debug("Update %d is a redelivery of a handled update; skipped", update_id)
            count_update(update_type(update), "duplicate")
            return web.Response()
        if claim is Claim.RUNNING:
            # Not 200: if the first handling dies, this retry is what handles it.
            return _unavailable("being_handled", "Being handled")
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
            return _unavailable("not_handled", "Not handled")
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

    def _check_request(self, request: web.Request) -> web.Response | None:
        """The answer to a request refused before its body is read, or None to go on."""
        if self.draining:
            return _unavailable("shutting_down", "Shutting down")
        if self.ip_allowlist:
            address = self.client_addresses.resolve(request)
            if not is_telegram_address(address):
                return self._refuse(request, 403, "not_telegram", "not from Telegram's networks")
        token = request.headers.get(SECRET_HEADER)
        if token is None:
            return self._refuse(request, 401, "no_secret", "no secret header")
        try:
            token_bytes = token.encode("ascii")
        except UnicodeEncodeError:
            return self._refuse(request, 401, "wrong_secret", "non-ASCII secret header")
        if not hmac.compare_digest(token_bytes, self._secret):
            return self._refuse(request, 401, "wrong_secret", "wrong secret header")
        # Before reading the body: at overload, spend as little as possible on a request.
        if self._accepted >= self.max_in_flight:
            return self._refuse(
                request, 503, "overloaded", "overloaded: WEBHOOK_MAX_IN_FLIGHT updates in flight"
            )
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            # Telegram never compresses: a compressed body is someone else's, and decoding
            # it would be work (and a decompression bomb) for nothing.
            return self._refuse(
                request, 415, "compressed", "compressed body (Telegram never compresses)"
            )
        length = request.content_length
        if length is not None and length > self.max_body_bytes:
            return self._refuse(request, 413, "too_large", "body over the limit")
        return None

    async def _read_update(self, request: web.Request) -> Update | web.Response:
        """The body validated as an Update, or the answer refusing it."""
        try:
            async with asyncio.timeout(self.read_timeout):
                body = await request.read()  # client_max_size bounds chunked bodies too
        except web.HTTPRequestEntityTooLarge:
            return self._refuse(request, 413, "too_large", "body over the limit")
        except TimeoutError:
            return self._refuse(
                request, 408, "read_timeout", "body not received within WEB_READ_TIMEOUT"
            )
        except (OSError, HttpProcessingError, web.RequestPayloadError) as exc:
            # The client left, or sent a body its own framing or encoding contradicts.
            reason = f"body not received ({type(exc).__name__})"
            return self._refuse(request, 400, "body_not_received", reason)
        try:
            return Update.model_validate_json(body, context=self._validation_context)
        except ValidationError as exc:
            return self._not_an_update(request, body, exc)

    def _not_an_update(
        self, request: web.Request, body: bytes, exc: ValidationError
    ) -> web.Response:
        try:
            update_id = update_id_of(json.loads(body))
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python parses
            update_id = None
        if update_id is None:
            reason = f"body is not a Telegram Update ({first_problem(exc)})"
            return self._refuse(request, 400, "not_an_update", reason)
        # The secret was right: Telegram sent it, in a shape aiogram cannot read.
        report_unreadable(Unreadable(update_id, first_problem(exc)), "answered 200 and skipped")
        return web.Response()

    def _refuse(self, request: web.Request, status: int, kind: str, reason: str) -> web.Response:
        """A refusal: counted by `kind` (a metrics label), logged in the summary by `reason`."""
        count_refusal(status, kind)
        client = self.client_addresses.resolve(request)
        self.refusals.refused(f"{status} {reason}", str(client) if client else "unknown")
        return web.Response(status=status, text=HTTPStatus(status).phrase)

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


def _unavailable(kind: str, what: str) -> web.Response:
    """A 503 (Telegram retries later), counted by `kind`."""
    count_refusal(503, kind)
    return web.Response(status=503, text=f"{what}, retry later")
