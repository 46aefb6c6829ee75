"""The connection every part of the Redis shared state uses: the client, how an outage is
logged, the key prefix and builder, and what the claim of an update took (`UpdateScope`).

The parts (`record.py`, `fsm.py`, `flood.py`, ...) take a `RedisConnection`; the facade
(`state.py`) makes one and hands it to each, so no part imports the facade.

Keys all start with `<REDIS_KEY_PREFIX>:<bot id>:` (the FSM keys too), so one Redis serves
several bots and environments.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.runtime.outgoing.api_errors import describe_error
from bot.runtime.shared.redis.metrics import record_redis_command
from bot.runtime.updates.dedup import SharedStateUnavailable
from bot.runtime.updates.redelivery import ask_for_redelivery, current_update
from bot.settings import Settings, mask_url
from bot.settings.rules import TELEGRAM_ANSWER_TIMEOUT

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


def claim_seconds(settings: Settings) -> int:
    """How long an update being handled stays claimed, and a conversation locked: longer
    than a handler may run plus the shutdown's grace (UPDATE_CLAIM_TTL overrides it)."""
    default = TELEGRAM_ANSWER_TIMEOUT + round(settings.shutdown_timeout)
    return settings.update_claim_ttl or default


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

    async def guard(self, operation: str, command: Callable[[], Awaitable[T]]) -> T:
        """Run a Redis command (timed for /metrics as `operation`); an error becomes
        SharedStateUnavailable (logged once), and the update being handled, if any, asks to
        be delivered again."""
        started = time.perf_counter()
        try:
            result = await command()
        except REDIS_ERRORS as exc:
            record_redis_command(operation, time.perf_counter() - started, failed=True)
            self.failed(exc)
            reason = f"Redis at {self.url} is unreachable"
            ask_for_redelivery(reason)
            raise SharedStateUnavailable(reason) from exc
        record_redis_command(operation, time.perf_counter() - started, failed=False)
        self.succeeded()
        return result


# Delete a key only while it holds our value (it may have expired and been taken since).
DELETE_IF_OURS = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class BotKeyBuilder(DefaultKeyBuilder):
    """`<prefix>:<bot id>:fsm:<chat>[:<thread>]:<user>:<destiny>:<part>`: one Redis serves
    several bots and environments."""

    def __init__(self, prefix: str) -> None:
        super().__init__(
            prefix=prefix, with_bot_id=True, with_business_connection_id=True, with_destiny=True
        )

    def build(self, key: StorageKey, part: Literal["data", "state", "lock"] | None = None) -> str:
        """The key of one part of one conversation."""
        built = super().build(key, part)
        head = f"{self.prefix}{self.separator}{key.bot_id}{self.separator}"
        return f"{head}fsm{self.separator}{built[len(head) :]}"


@dataclass
class UpdateScope:
    """What the claim of one update took in the same round trip: its conversation's lock and
    state, so that aiogram's FSM middleware does not ask Redis for them again."""

    lock_name: str | None = None  # held from the claim until the update is done
    lock_token: str = ""
    state_key: str | None = None
    state: str | None = None  # the conversation's state as read at the claim


class RedisConnection:
    """One Redis client and its outage log, the key prefix and builder, and the scopes of the
    updates being handled: what every part of the Redis shared state works with."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redis = connect(settings)
        self.outage = RedisOutage(settings)
        self.prefix = key_prefix(settings)
        self.keys = BotKeyBuilder(settings.redis_key_prefix)
        # By update id: what each claim took, for the FSM storage built on this connection.
        self._scopes: dict[int, UpdateScope] = {}

    def keep_scope(self, update_id: int, scope: UpdateScope) -> None:
        """Remember what the claim of `update_id` took, for the FSM storage and isolation."""
        self._scopes[update_id] = scope

    def drop_scope(self, update_id: int) -> UpdateScope:
        """Forget it once the update is done; returns it (empty if there was none)."""
        return self._scopes.pop(update_id, UpdateScope())

    def scope(self) -> UpdateScope | None:
        """The scope of the update being handled in this task, if its claim took one."""
        update_id = current_update()
        return self._scopes.get(update_id) if update_id is not None else None

    async def close(self) -> None:
        """Close the client: the shared state's owner does, once."""
        await self.redis.aclose()
