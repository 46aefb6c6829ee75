"""The one way a Bot API call is retried: on 429 after `retry_after`, on an unreachable Bot
API with aiogram's `Backoff`, each a bounded number of times (or until a stop is requested).

Polling's start-up calls, its last offset confirmation, the webhook registration, the
operators' commands and every message the bot sends (`bot.runtime.outgoing.flood_session`)
go through `call_with_retry`; only the policy differs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from aiogram.exceptions import TelegramRetryAfter
from aiogram.utils.backoff import Backoff, BackoffConfig

from bot.runtime.outgoing.api_errors import API_UNAVAILABLE, describe_error

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Telegram's 429 carries retry_after; a bound keeps a bogus value from freezing the bot.
MAX_RETRY_AFTER = 60.0
NETWORK_BACKOFF = BackoffConfig(min_delay=1.0, max_delay=30.0, factor=2.0, jitter=0.1)

Sleep = Callable[[float], Awaitable[None]]


class RetryAfterLog(Protocol):
    """Turns the 429s of many calls into one line per episode
    (`bot.runtime.outgoing.flood.FloodLog`)."""

    def retrying(self, what: str, wait: float, first: bool) -> None:
        """A call got 429 (`first`: its first) and waits `wait` s before its next attempt."""

    def settled(self, what: str, delivered: bool) -> None:
        """A call that got 429 is over: delivered, or given up after its last attempt."""


class OutageLog:
    """Logs an outage of the Bot API once when it starts and once when it ends."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.since: float | None = None

    def failed(self, exc: BaseException, retry_in: float, backoff: BackoffConfig) -> None:
        """A request failed for a network reason; only the first failure is a warning."""
        reason = describe_error(exc)
        if self.since is None:
            self.since = time.monotonic()
            logger.warning(
                "Cannot reach the Bot API at %s (%s). Retrying with backoff (at most %.0f s "
                "apart); the next line here is when the connection is back.",
                self.api_url,
                reason,
                backoff.max_delay,
            )
        else:
            logger.debug("Bot API still unreachable (%s); next try in %.1f s.", reason, retry_in)

    def succeeded(self) -> None:
        """A request went through: close the outage, if there was one."""
        if self.since is not None:
            logger.info(
                "Connection to the Bot API restored after %.0f s.", time.monotonic() - self.since
            )
            self.since = None


@dataclass(frozen=True)
class RetryPolicy:
    """Which failures a call retries, and how often."""

    attempts: int | None = 5  # None: until it succeeds (or a stop request ends the sleep)
    network: bool = False  # also retry while the Bot API is unreachable
    backoff: BackoffConfig = field(default_factory=lambda: NETWORK_BACKOFF)
    max_retry_after: float = MAX_RETRY_AFTER


async def call_with_retry(
    call: Callable[[], Awaitable[T]],
    what: str,
    policy: RetryPolicy,
    *,
    sleep: Sleep = asyncio.sleep,
    outage: OutageLog | None = None,
    flood: RetryAfterLog | None = None,
) -> T:
    """Run `call` under `policy`; the last error is raised once the attempts are used up.

    `sleep` waits between attempts (a stop request's sleep ends the wait early); `outage`
    turns network failures into one warning per outage instead of one per attempt, `flood`
    does the same for 429s.
    """
    backoff = Backoff(policy.backoff)
    attempt = 0
    limited = delivered = False  # limited: this call got a 429 at least once
    try:
        while True:
            attempt += 1
            last = policy.attempts is not None and attempt >= policy.attempts
            try:
                result = await call()
            except TelegramRetryAfter as exc:
                first, limited = not limited, True
                if last:
                    raise
                wait = min(float(exc.retry_after), policy.max_retry_after)
                if flood is not None:
                    flood.retrying(what, wait, first)
                else:
                    logger.warning(
                        "%s: Telegram asks to wait %.0f s (429 Too Many Requests).", what, wait
                    )
                await sleep(wait)
                continue
            except API_UNAVAILABLE as exc:
                if last or not policy.network:
                    raise
                delay = max(next(backoff), 0.0)
                if outage is not None:
                    outage.failed(exc, delay, policy.backoff)
                else:
                    logger.warning(
                        "%s failed (%s); retrying in %.1f s.", what, describe_error(exc), delay
                    )
                await sleep(delay)
                continue
            if outage is not None:
                outage.succeeded()
            delivered = True
            return result
    finally:
        if limited and flood is not None:
            flood.settled(what, delivered)
