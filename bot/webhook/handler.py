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

The update's way (claim, handling, the reply, finish or release, counts) is the pipeline's,
shared with polling (bot/pipeline.py); this route maps its outcome to a status: 200 for
`handled`, `failed` (the exception is logged: a poison update must not block its chat with
redeliveries for a day) and `duplicate` (of a handled one); 503 for `in_progress` (being
handled), `unavailable` (the shared state unreachable, at the claim or from a per-update
service) and `not_handled` (the handling asked to come again). Also 503 while shutting down;
405 (from aiohttp) for another method; what is refused before the dispatcher (400, 401, 403,
408, 413, 415, 503 overloaded) is in `request_checks.py`.

Shutdown (`drain`): new updates get 503, in-flight ones get SHUTDOWN_TIMEOUT seconds to finish,
the rest are cancelled without an answer (so Telegram redelivers them) and their ids logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiogram.types import Update
from aiohttp import web

from bot.pipeline import Outcome, UpdatePipeline
from bot.webhook.client_ip import ClientAddressResolver
from bot.webhook.request_checks import RequestChecks, unavailable

logger = logging.getLogger(__name__)

# What the webhook answers for each outcome of the pipeline (a 503: Telegram retries later).
REFUSED: dict[Outcome, tuple[str, str]] = {
    # Not 200: if the first handling dies, this retry is what handles it.
    Outcome.IN_PROGRESS: ("being_handled", "Being handled"),
    Outcome.UNAVAILABLE: ("shared_state_unavailable", "Shared state unavailable"),
    Outcome.NOT_HANDLED: ("not_handled", "Not handled"),
}


def answer(outcome: Outcome) -> web.Response:
    """The HTTP answer to Telegram for `outcome`: 200 once settled, else a counted 503."""
    if outcome.settled:
        return web.Response()
    return unavailable(*REFUSED[outcome])


class WebhookHandler:
    """Checks webhook requests, hands their updates to the pipeline, answers by its outcome;
    drains on shutdown."""

    def __init__(
        self,
        pipeline: UpdatePipeline,
        *,
        secret: str,
        max_body_bytes: int,
        max_in_flight: int,
        read_timeout: float = 10.0,
        client_addresses: ClientAddressResolver,
        ip_allowlist: bool = False,
        shared_state_down: Callable[[], str | None] = lambda: None,
    ) -> None:
        """`read_timeout` bounds the reading of a body; `shared_state_down` says why the shared
        state is unusable, or None."""
        self.pipeline = pipeline
        self.checks = RequestChecks(
            pipeline.bot,
            secret=secret,
            max_body_bytes=max_body_bytes,
            max_in_flight=max_in_flight,
            read_timeout=read_timeout,
            client_addresses=client_addresses,
            ip_allowlist=ip_allowlist,
        )
        self.refusals = self.checks.refusals
        self.shared_state_down = shared_state_down
        self.started = False  # set once the dispatcher's startup handlers ran
        self.draining = False
        # A request's task -> its update (cancelled if the shutdown timeout passes).
        self._in_flight: dict[asyncio.Task[Any], int] = {}
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
        return sorted(set(self._in_flight.values()))

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
            update = await self.checks.read_update(request)
            if isinstance(update, web.Response):
                return update
            return answer(await self._process(update))
        finally:
            self._accepted -= 1

    async def _process(self, update: Update) -> Outcome:
        task = asyncio.current_task()
        assert task is not None
        self._in_flight[task] = update.update_id
        try:
            return await self.pipeline.process(update)
        finally:
            del self._in_flight[task]
            if self.draining and not self._in_flight:
                self._idle.set()

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
        abandoned = self.in_flight
        if abandoned:
            logger.error(
                "Shutdown timeout (%s s) reached: cancelling updates %s; they were not "
                "acknowledged, so Telegram will redeliver them",
                grace,
                ", ".join(map(str, abandoned)),
            )
            tasks = list(self._in_flight)
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=5)
        return abandoned
