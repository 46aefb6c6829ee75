"""Webhook delivery: one worker per bot, POSTing updates the way the Bot API server does.

Rules (from the server's WebhookActor): at most `max_connections` requests in flight; the
updates of one chat go one at a time and in order (a chat-less update is its own queue); a
non-2xx answer, a dropped connection or no answer within `webhook_timeout` is recorded as
`last_error_message` and retried - the first retry at once, then `retry_first_delay` doubling
up to `retry_max_delay`, or after the answer's `Retry-After`. A 2xx answer confirms the update,
and a Bot API method in its body ("reply into webhook") is executed.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import aiohttp

from sandbox.api import execute
from sandbox.errors import BotApiError
from sandbox.params import normalise, parse_body
from sandbox.records import Delivery
from sandbox.shapes import chat_key
from sandbox.state import BotState

QueueKey = tuple[str, int]
MAX_RETRY_AFTER = 3600
# The server never runs these from a webhook answer.
_REFUSED_REPLIES = frozenset({"deletewebhook", "setwebhook", "close", "logout"})


@dataclass
class _Retry:
    backoff: float
    fails: int = 0


class DeliveryWorker:
    """Delivers one bot's pending updates to the webhook URL it had when the worker started."""

    def __init__(self, bot: BotState, session: aiohttp.ClientSession) -> None:
        self.bot = bot
        self.session = session
        self.url = bot.webhook_url
        self.secret = bot.webhook_secret
        self.max_connections = bot.max_connections
        self._queues: dict[QueueKey, deque[int]] = {}
        self._ready: list[tuple[float, int, QueueKey]] = []  # (when, tie-breaker, queue)
        self._order = itertools.count()
        self._loaded_upto = 0
        self._retries: dict[int, _Retry] = {}
        self._in_flight: dict[asyncio.Task[None], Delivery] = {}
        self._task = asyncio.create_task(self._run(), name=f"sandbox-delivery-{bot.bot_id}")

    def stop(self) -> list[asyncio.Task[Any]]:
        """Cancel the worker and its requests; returns the tasks to await."""
        tasks: list[asyncio.Task[Any]] = [self._task, *self._in_flight]
        for task, delivery in self._in_flight.items():
            if delivery.finished is None:
                delivery.finished = time.monotonic()
                delivery.error = "abandoned: the webhook was changed or deleted"
            task.cancel()
        self._task.cancel()
        return tasks

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self.bot.delivery_wakeup.clear()
            self._load_new_updates()
            timeout = self._start_ready(loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.bot.delivery_wakeup.wait(), timeout)

    def _load_new_updates(self) -> None:
        # Updates arrive in update_id order, so only the tail of the queue can be new.
        fresh: list[int] = []
        for update_id in reversed(self.bot.updates):
            if update_id <= self._loaded_upto:
                break
            fresh.append(update_id)
        now = asyncio.get_running_loop().time()
        for update_id in reversed(fresh):
            chat = chat_key(self.bot.updates[update_id])
            key: QueueKey = ("chat", chat) if chat is not None else ("update", update_id)
            queue = self._queues.setdefault(key, deque())
            if not queue:
                heapq.heappush(self._ready, (now, next(self._order), key))
            queue.append(update_id)
            self._loaded_upto = update_id

    def _start_ready(self, now: float) -> float | None:
        """Start every delivery that may start now; return seconds until the next one may."""
        while self._ready and len(self._in_flight) < self.max_connections:
            if self.bot.delivery_paused:
                return None  # resume_delivery() sets the wakeup event
            when, _, key = self._ready[0]
            if when > now:
                return when - now
            heapq.heappop(self._ready)
            queue = self._queues[key]
            while queue and queue[0] not in self.bot.updates:
                queue.popleft()  # confirmed or dropped meanwhile
            if not queue:
                del self._queues[key]
                continue
            self._start(key, queue[0])
        return None

    def _start(self, key: QueueKey, update_id: int) -> None:
        delivery = Delivery(update_id=update_id, url=self.url, started=time.monotonic())
        self.bot.deliveries.append(delivery)
        task = asyncio.create_task(self._deliver(key, delivery))
        self._in_flight[task] = delivery
        task.add_done_callback(self._finished)
        self.bot.changed()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        self.bot.delivery_wakeup.set()

    async def _deliver(self, key: QueueKey, delivery: Delivery) -> None:
        update = self.bot.updates[delivery.update_id]
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.secret
        reply: bytes = b""
        reply_type = ""
        try:
            async with self.session.post(
                self.url,
                data=json.dumps(update).encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.bot.settings.webhook_timeout),
                ssl=self.bot.settings.delivery_ssl or True,
                allow_redirects=False,
            ) as response:
                reply = await response.read()
                reply_type = response.headers.get("Content-Type", "")
                delivery.status = response.status
                if not 200 <= response.status <= 299:
                    delivery.error = (
                        f"Wrong response from the webhook: {response.status} {response.reason}"
                    )
                    delivery.retry_after = _retry_after(response.headers.get("Retry-After"))
        except TimeoutError:
            delivery.error = "Read timeout expired"
        except aiohttp.ClientError as error:
            delivery.error = _connection_error(error)
        delivery.finished = time.monotonic()

        if delivery.error is None:
            delivery.acknowledged = True
            self._retries.pop(delivery.update_id, None)
            queue = self._queues[key]
            queue.popleft()
            if queue:
                heapq.heappush(
                    self._ready, (asyncio.get_running_loop().time(), next(self._order), key)
                )
            else:
                del self._queues[key]
            self.bot.acknowledge(delivery.update_id)
            await self._run_reply(delivery, reply_type, reply)
        else:
            self.bot.record_webhook_error(delivery.error)
            self._schedule_retry(key, delivery)

    def _schedule_retry(self, key: QueueKey, delivery: Delivery) -> None:
        settings = self.bot.settings
        retry = self._retries.setdefault(delivery.update_id, _Retry(settings.retry_first_delay))
        if delivery.retry_after:
            wait = float(min(delivery.retry_after, MAX_RETRY_AFTER))
        elif retry.fails == 0:
            wait = 0.0  # the first retry goes at once
        else:
            wait = min(retry.backoff, settings.retry_max_delay)
            retry.backoff = min(retry.backoff * 2, settings.retry_max_delay)
        retry.fails += 1
        when = asyncio.get_running_loop().time() + wait
        heapq.heappush(self._ready, (when, next(self._order), key))

    async def _run_reply(self, delivery: Delivery, content_type: str, body: bytes) -> None:
        try:
            params = normalise(parse_body(content_type, body))
        except BotApiError:
            return  # the server ignores an answer it cannot parse
        method = params.pop("method", None)
        if not isinstance(method, str) or not method:
            return
        lowered = method.lower()
        if lowered in _REFUSED_REPLIES or lowered.startswith("get"):
            return
        delivery.reply_method = method
        await execute(self.bot, method, params, via="webhook_reply")


def _retry_after(header: str | None) -> int | None:
    if header is None:
        return None
    try:
        return max(int(header), 0) or None
    except ValueError:
        return None


def _connection_error(error: aiohttp.ClientError) -> str:
    """Telegram's wording for a failed connection."""
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        reason = getattr(error.certificate_error, "verify_message", None) or "unknown"
        return f"SSL error {{error:certificate verify failed: {reason}}}"
    if isinstance(error, aiohttp.ClientSSLError):
        return f"SSL error {{error:{error.os_error}}}"
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return "Failed to resolve host: Name or service not known"
    if isinstance(error, aiohttp.ClientConnectorError):
        if isinstance(error.os_error, ConnectionRefusedError):
            return "Connection refused"
        if isinstance(error.os_error, TimeoutError):
            return "Connection timed out"
        return f"Can't connect to the webhook: {error.os_error.strerror or error}"
    return "Webhook connection closed"


class DeliveryManager:
    """Starts and stops the per-bot workers as webhooks are set and deleted."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._workers: dict[str, DeliveryWorker] = {}
        self._stopping: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Open the HTTP client the workers share."""
        # limit=0: the per-bot max_connections is the only bound, as in the server.
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    def webhook_changed(self, bot: BotState) -> None:
        """Restart delivery for `bot`: stop the old worker, start one if a webhook is set."""
        old = self._workers.pop(bot.token, None)
        if old is not None:
            self._stopping.update(old.stop())
        if bot.webhook_url and self._session is not None:
            self._workers[bot.token] = DeliveryWorker(bot, self._session)

    async def close(self) -> None:
        """Stop every worker and close the HTTP client."""
        for worker in self._workers.values():
            self._stopping.update(worker.stop())
        self._workers.clear()
        await asyncio.gather(*self._stopping, return_exceptions=True)
        self._stopping.clear()
        if self._session is not None:
            await self._session.close()
