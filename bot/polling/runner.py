"""The long-polling loop: fetch updates, handle them concurrently (bounded), stop cleanly.

aiogram's own `Dispatcher.start_polling` is not used: on shutdown it cancels handlers that
are still running after their updates were confirmed, and it retries a 409 Conflict forever.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import TypeVar

from aiogram.exceptions import (
    TelegramConflictError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.methods import DeleteWebhook, GetMe, GetUpdates, GetWebhookInfo, TelegramMethod
from aiogram.utils.backoff import Backoff, BackoffConfig

from bot.exit_codes import ExitCode
from bot.owner import BotRuntime
from bot.pipeline import UpdatePipeline
from bot.polling.conflicts import (
    ConflictStreak,
    conflict_diagnosis,
    conflict_exit_message,
    is_webhook_conflict,
    lease_lost_message,
    takeover_message,
    webhook_active_message,
    webhook_appeared_message,
)
from bot.polling.fetching import fetch_batch
from bot.polling.intake import UpdateIntake
from bot.polling.shutdown import ANY_API_ERROR, CONFIRM_TIMEOUT, confirm_offset, finish_handlers
from bot.polling.update_tasks import UpdateTasks
from bot.runtime.observability.metrics import count_conflict, count_lock_refusal
from bot.runtime.outgoing.api_errors import (
    API_UNAVAILABLE,
    not_a_bot_api_message,
    token_rejected_message,
)
from bot.runtime.outgoing.retry import (
    MAX_RETRY_AFTER,
    NETWORK_BACKOFF,
    OutageLog,
    RetryPolicy,
    call_with_retry,
)
from bot.runtime.single_poller.lease import SharedLease
from bot.runtime.stop_signals import StopRequest, StopRequested

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Seconds a getUpdates waits on the server for updates before returning empty.
POLL_TIMEOUT = 25
# Handlers running at once; a flood of updates waits for a free slot instead of piling up tasks.
MAX_CONCURRENT_UPDATES = 100


class PollingRunner:
    """Polls one bot for updates and feeds them to the dispatcher until stopped."""

    def __init__(
        self,
        runtime: BotRuntime,
        *,
        takeover: bool = False,
        max_concurrent_updates: int = MAX_CONCURRENT_UPDATES,
        poll_timeout: int = POLL_TIMEOUT,
        network_backoff: BackoffConfig = NETWORK_BACKOFF,
        lease: SharedLease | None = None,
    ) -> None:
        """Polls with `runtime`'s bot and dispatcher (the caller enters and leaves the
        runtime); `lease` is the cross-host polling lease (with the shared state);
        `network_backoff` exists for tests that cannot wait seconds."""
        self.runtime = runtime
        self.settings = settings = runtime.settings
        self.bot = runtime.bot
        self.dispatcher = runtime.dispatcher
        self.takeover = takeover
        self.poll_timeout = poll_timeout
        self.username: str | None = None
        self._stop = StopRequest()
        self._abandon = asyncio.Event()
        pipeline = UpdatePipeline(runtime)
        self._tasks = UpdateTasks(pipeline, max_concurrent_updates)
        # With the shared state, updates are confirmed once finished; without it, once started
        # (see bot.polling.intake for what each promises).
        self._intake = UpdateIntake(
            pipeline, self._tasks, self._stop, confirm_when_finished=runtime.shares_state
        )
        self._lease = lease
        self._outage = OutageLog(settings.telegram_api_url)
        self._network_config = network_backoff
        self._network_backoff = Backoff(network_backoff)
        self._conflicts = ConflictStreak(settings.polling_conflict_grace)
        self._conflict_backoff = Backoff(self._conflicts.retry_backoff())

    @property
    def bot_label(self) -> str:
        """How the bot is named in messages: @username once known, else the masked token."""
        return f"@{self.username}" if self.username else self.settings.masked_token

    def request_stop(self) -> None:
        """Stop fetching and let handlers finish; a second request abandons them at once
        (a third Ctrl+C ends the process: see bot.runtime.stop_signals)."""
        if self._stop.is_set():
            if not self._abandon.is_set():
                logger.warning(
                    "Second stop request: not waiting for running handlers any more. "
                    "Press Ctrl+C once more to end the process at once."
                )
                self._abandon.set()
            return
        if self._tasks:
            logger.info(
                "Stopping: no new updates are fetched; %d running handler(s) get up to %.0f s "
                "(SHUTDOWN_TIMEOUT) to finish. Press Ctrl+C again to abandon them.",
                len(self._tasks),
                self.settings.shutdown_timeout,
            )
        else:
            logger.info("Stopping.")
        self._stop.set()

    async def run(self) -> int:
        """Poll until stopped or until polling must not go on; returns the exit code."""
        if self._lease is not None:
            self._lease.start()
        try:
            try:
                code: int | None = await self._prepare()
                if code is None:
                    await self.runtime.emit_startup()
                    self._log_start()
                    code = await self._poll()
                if code is None:
                    code = ExitCode.OK
            except StopRequested:
                code = ExitCode.OK
            except TelegramUnauthorizedError:
                logger.error(token_rejected_message(self.bot_label))
                code = ExitCode.CONFIG
            except TelegramNotFound:
                logger.error(not_a_bot_api_message(self.settings.telegram_api_url))
                code = ExitCode.CONFIG
            except Exception:
                logger.exception("Polling failed unexpectedly")
                code = ExitCode.ERROR
        except asyncio.CancelledError:
            # Only when Ctrl+C could not be turned into a stop request (see stop_signals).
            logger.warning("Interrupted: shutting down.")
            self._stop.set()
            await self._shutdown()
            raise
        await self._shutdown()
        return code

    def _log_start(self) -> None:
        env_file = self.settings.env_file or "none (process environment only)"
        logger.info(
            "Bot %s is polling (mode=polling, env file=%s, pid=%d, host=%s, api=%s). "
            "Press Ctrl+C to stop.",
            self.bot_label,
            env_file,
            os.getpid(),
            socket.gethostname(),
            self.settings.telegram_api_url,
        )

    async def _prepare(self) -> int | None:
        """Who am I, and is a webhook in the way? Returns an exit code to stop with."""
        me = await self._call(GetMe())
        self.username = me.username
        info = await self._call(GetWebhookInfo())
        if not info.url:
            return None
        if not self.takeover:
            logger.error(webhook_active_message(info.url, info.pending_update_count))
            return ExitCode.WEBHOOK_ACTIVE
        await self._call(DeleteWebhook(drop_pending_updates=False))
        logger.warning(takeover_message(info.url, info.pending_update_count))
        return None

    async def _call(self, method: TelegramMethod[T]) -> T:
        """A start-up request, retried while the Bot API is unreachable, until stopped."""
        return await call_with_retry(
            lambda: self._stop.until_stopped(self.bot(method)),
            method.__api_method__,
            RetryPolicy(attempts=None, network=True, backoff=self._network_config),
            sleep=self._stop.sleep,
            outage=self._outage,
        )

    async def _poll(self) -> int | None:
        """The loop; returns an exit code when polling must end for a reason other than stop."""
        request = GetUpdates(
            timeout=self.poll_timeout,
            allowed_updates=self.dispatcher.resolve_used_update_types(),
        )
        # The HTTP request must outlive the long poll it contains.
        request_timeout = self.poll_timeout + 15
        while not self._stop.is_set():
            if self._lease is not None and not await self._lease_usable():
                return ExitCode.LOCKED
            request.offset = self._intake.offset
            # After a failure, a short poll tells at once whether the Bot API is back.
            request.timeout = 0 if self._outage.since is not None else self.poll_timeout
            try:
                updates = await fetch_batch(
                    self.bot, request, request_timeout, self._stop, self._lease
                )
            except TelegramConflictError as exc:
                count_conflict("webhook" if is_webhook_conflict(exc) else "poller")
                if is_webhook_conflict(exc):
                    return await self._webhook_appeared()
                if self._conflicts.record():
                    self._conflict_backoff.reset()
                    logger.warning(conflict_diagnosis(self._conflicts.grace))
                if self._conflicts.exceeded:
                    logger.error(conflict_exit_message(self._conflicts.grace))
                    return ExitCode.CONFLICT
                await self._stop.sleep(next(self._conflict_backoff))
                continue
            except TelegramRetryAfter as exc:
                await self._stop.sleep(self._retry_after(exc))
                continue
            except API_UNAVAILABLE as exc:
                delay = max(next(self._network_backoff), 0.0)
                self._outage.failed(exc, delay, self._network_config)
                await self._stop.sleep(delay)
                continue
            if updates is None:
                continue  # cut short: the lease may not be safe any more
            self._outage.succeeded()
            self._network_backoff.reset()
            self._conflicts.poll_succeeded()
            await self._intake.take(updates)
        return None

    async def _lease_usable(self) -> bool:
        """Wait while the lease cannot be renewed; False once another poller took it."""
        assert self._lease is not None
        if self._lease.halted.is_set() and not self._lease.lost.is_set():
            await self._stop.until_stopped(self._lease.resumed_or_lost())
        if self._lease.lost.is_set():
            count_lock_refusal("lease")
            logger.error(lease_lost_message())
            return False
        return True

    async def _webhook_appeared(self) -> int:
        url = ""
        try:
            info = await asyncio.wait_for(self.bot(GetWebhookInfo()), CONFIRM_TIMEOUT)
            url = info.url
        except ANY_API_ERROR:
            pass  # the message says the URL is unknown
        logger.error(webhook_appeared_message(url))
        return ExitCode.WEBHOOK_ACTIVE

    def _retry_after(self, exc: TelegramRetryAfter) -> float:
        delay = min(float(exc.retry_after), MAX_RETRY_AFTER)
        logger.warning("Telegram asks to slow down (429); polling again in %.0f s.", delay)
        return delay

    async def _shutdown(self) -> None:
        # What is left (the services, the storage, the session) the runtime closes.
        await finish_handlers(self._tasks, self.settings.shutdown_timeout, self._abandon)
        await confirm_offset(self.bot, self._intake.offset, hurried=self._abandon.is_set())
        if self._lease is not None:
            await self._lease.stop()  # only now: the confirmation above is a getUpdates too
        # Here, while Ctrl+C is still a stop request (a third one ends a hook that hangs).
        await self.runtime.emit_shutdown()
