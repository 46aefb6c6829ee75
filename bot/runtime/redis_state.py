"""Everything that talks to Redis (REDIS_URL): the connection, the shared update record, and
how an outage is logged. Imported only when REDIS_URL is set, so the `redis` package is only
needed then.

Keys all start with `<REDIS_KEY_PREFIX>:<bot id>:` (the FSM keys too), so one Redis serves
several bots and environments.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.runtime.api_errors import describe_error
from bot.runtime.dedup import Claim, SharedStateUnavailable
from bot.runtime.redelivery import ask_for_redelivery
from bot.settings import Settings, mask_url

logger = logging.getLogger(__name__)
T = TypeVar("T")

# What "Redis cannot be reached" looks like: its own errors, and the sockets' below them.
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)
# Seconds one Redis command may take before it counts as an outage.
COMMAND_TIMEOUT = 5.0


def connect(settings: Settings) -> Redis:
    """The process's Redis client for REDIS_URL (connections open on first use)."""
    assert settings.redis_url is not None
    return Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_connect_timeout=COMMAND_TIMEOUT,
        socket_timeout=COMMAND_TIMEOUT,
        health_check_interval=30,
    )


def key_prefix(settings: Settings) -> str:
    """`<REDIS_KEY_PREFIX>:<bot id>`: the start of every key of this bot."""
    return f"{settings.redis_key_prefix}:{settings.bot_id}"


def shown_url(settings: Settings) -> str:
    """REDIS_URL as it may be shown: the password masked."""
    assert settings.redis_url is not None
    return mask_url(settings.redis_url.get_secret_value())


async def unreachable(redis: Redis, settings: Settings) -> str | None:
    """Why Redis cannot be used right now (a sentence naming the URL), or None."""
    try:
        await redis.ping()
    except REDIS_ERRORS as exc:
        return (
            f"Redis at {shown_url(settings)} cannot be reached ({describe_error(exc)}): start "
            "it, or correct REDIS_URL (or unset it to keep the state in memory)."
        )
    return None


async def startup_problem(settings: Settings) -> str | None:
    """Why the bot must not start: REDIS_URL is set but Redis cannot be reached (exit 2)."""
    redis = connect(settings)
    try:
        return await unreachable(redis, settings)
    finally:
        await redis.aclose()


class RedisOutage:
    """Logs a Redis outage once when it starts and once when it ends; says why while it lasts."""

    def __init__(self, settings: Settings) -> None:
        self.url = shown_url(settings)
        self.since: float | None = None

    @property
    def reason(self) -> str | None:
        """Why updates are refused right now, for /readyz; None while Redis answers."""
        return f"Redis at {self.url} is unreachable" if self.since is not None else None

    def failed(self, exc: BaseException) -> None:
        """A command failed: the first failure of an outage is a warning."""
        if self.since is None:
            self.since = time.monotonic()
            logger.warning(
                "Redis at %s is unreachable (%s): updates are not taken until it is back "
                "(webhook: 503, Telegram retries; polling: fetching paused).",
                self.url,
                describe_error(exc),
            )

    def succeeded(self) -> None:
        """A command went through: close the outage, if there was one."""
        if self.since is not None:
            logger.info(
                "Redis at %s is back after %.0f s.", self.url, time.monotonic() - self.since
            )
            self.since = None

    async def guard(self, command: Callable[[], Awaitable[T]]) -> T:
        """Run a Redis command; an error becomes SharedStateUnavailable (logged once), and the
        update being handled, if any, asks to be delivered again."""
        try:
            result = await command()
        except REDIS_ERRORS as exc:
            self.failed(exc)
            reason = f"Redis at {self.url} is unreachable"
            ask_for_redelivery(reason)
            raise SharedStateUnavailable(reason) from exc
        self.succeeded()
        return result


# SET NX the claim, or say what is there: 0 new, 1 running, 2 done. One round trip.
_CLAIM = """
local value = redis.call('GET', KEYS[1])
if not value then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 0
end
if value == 'done' then return 2 end
return 1
"""
# Delete a key only while it holds our value (it may have expired and been taken since).
DELETE_IF_OURS = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisDeduplicator:
    """The update record shared by every worker and host (see bot.runtime.dedup).

    A claim is `running:<host>:<pid>:<random>` with a short TTL (UPDATE_CLAIM_TTL: longer
    than a handler may run plus the shutdown's grace), so a worker killed mid-handler frees it
    for Telegram's retry; done is `done` for UPDATE_DONE_TTL (a day: Telegram keeps an update
    for 24 hours).
    """

    def __init__(self, redis: Redis, settings: Settings, outage: RedisOutage) -> None:
        self.redis = redis
        self.outage = outage
        self.prefix = f"{key_prefix(settings)}:update:"
        self.claim_ms = settings.update_claim_seconds * 1000
        self.done_ms = settings.update_done_ttl * 1000
        self.owner = f"running:{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(DELETE_IF_OURS)

    def key(self, update_id: int) -> str:
        """The Redis key of one update's record."""
        return f"{self.prefix}{update_id}"

    async def claim(self, update_id: int) -> Claim:
        """NEW, RUNNING or DONE, atomically for every worker and host."""
        keys, args = [self.key(update_id)], [self.owner, str(self.claim_ms)]
        answer = await self.outage.guard(lambda: self._claim(keys=keys, args=args))
        return (Claim.NEW, Claim.RUNNING, Claim.DONE)[int(answer)]

    async def finish(self, update_id: int) -> None:
        """Remember it as done for UPDATE_DONE_TTL."""
        await self.outage.guard(
            lambda: self.redis.set(self.key(update_id), "done", px=self.done_ms)
        )

    async def release(self, update_id: int) -> None:
        """Drop the claim if it is still this process's."""
        keys, args = [self.key(update_id)], [self.owner]
        await self.outage.guard(lambda: self._release(keys=keys, args=args))


class SharedState:
    """What one process shares with the bot's other processes: one Redis connection and its
    outage log, and the objects built on them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redis = connect(settings)
        self.outage = RedisOutage(settings)
        self.prefix = key_prefix(settings)

    def deduplicator(self) -> RedisDeduplicator:
        """The shared update record."""
        return RedisDeduplicator(self.redis, self.settings, self.outage)

    async def close(self) -> None:
        """Close the connection (the FSM storage built on it may have closed it already)."""
        await self.redis.aclose()
