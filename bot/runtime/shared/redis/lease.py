"""One poller per bot across every host: a lease in Redis (with REDIS_URL), beside the local
file lock that keeps one poller per machine.

The lease is one key, `<prefix>:<bot id>:polling-lease`, set with SET NX PX to this process's
details and a random token, renewed every third of POLLING_LEASE_TTL by a compare-and-extend
script and deleted on stop by a compare-and-delete one, so a poller never extends or deletes
another's lease. Killed with kill -9, a holder frees it after the TTL. `LeaseKeeper` renews it
while polling; when renewals fail, it suspends fetching before the lease can expire, so two
hosts never poll at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from datetime import datetime

from bot.exit_codes import ExitCode
from bot.runtime.observability.metrics import count_lock_refusal
from bot.runtime.shared.redis.connection import (
    DELETE_IF_OURS,
    REDIS_ERRORS,
    RedisConnection,
    unreachable,
)
from bot.runtime.shared.redis.metrics import record_redis_command
from bot.runtime.single_poller.holder import LockHolder
from bot.runtime.single_poller.lease import LeaseHolder, LeaseRefusal

logger = logging.getLogger(__name__)

_EXTEND_IF_OURS = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class LeaseHeld(Exception):
    """Another poller holds the lease."""

    def __init__(self, held: LeaseHolder) -> None:
        self.held = held
        super().__init__(held.holder.describe())


def lease_key(connection: RedisConnection) -> str:
    """The lease's Redis key."""
    return f"{connection.prefix}:polling-lease"


async def read_lease(connection: RedisConnection) -> LeaseHolder | None:
    """Who holds the lease right now, or None when it is free (Redis errors propagate)."""
    key = lease_key(connection)
    async with connection.redis.pipeline(transaction=True) as pipe:
        pipe.get(key)
        pipe.pttl(key)
        raw, left_ms = await pipe.execute()
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        holder = LockHolder(
            pid=int(data["pid"]),
            host=str(data["host"]),
            started_at=datetime.fromisoformat(str(data["started_at"])),
            command=str(data["command"]),
        )
    except (ValueError, KeyError, TypeError):
        holder = LockHolder(0, "unknown", datetime.now().astimezone(), "unknown")
    return LeaseHolder(holder, max(int(left_ms), 0) / 1000)


class PollingLease:
    """This process's claim on the lease."""

    def __init__(self, connection: RedisConnection, holder: LockHolder) -> None:
        self.connection = connection
        self.key = lease_key(connection)
        self.ttl = connection.settings.polling_lease_ttl
        self.value = json.dumps(
            {
                "pid": holder.pid,
                "host": holder.host,
                "started_at": holder.started_at.isoformat(),
                "command": holder.command,
                "token": secrets.token_hex(8),
            }
        )
        self._extend = connection.redis.register_script(_EXTEND_IF_OURS)
        self._delete = connection.redis.register_script(DELETE_IF_OURS)

    async def acquire(self) -> float:
        """Take the lease; returns the monotonic time it is valid until. LeaseHeld if taken."""
        for _ in range(3):  # it may expire between the SET and the read: look again
            started = time.monotonic()
            ttl_ms = int(self.ttl * 1000)
            if await self.connection.redis.set(self.key, self.value, nx=True, px=ttl_ms):
                return started + self.ttl
            held = await read_lease(self.connection)
            if held is not None:
                raise LeaseHeld(held)
        raise LeaseHeld(LeaseHolder(LockHolder(0, "unknown", datetime.now().astimezone(), "?"), 0))

    async def renew(self) -> float | None:
        """Extend the lease; returns the new validity, or None when it is no longer ours."""
        started = time.monotonic()
        extended = await self._extend(keys=[self.key], args=[self.value, int(self.ttl * 1000)])
        return started + self.ttl if int(extended) else None

    async def release(self) -> None:
        """Give the lease up (only if it is still ours); errors are logged, it expires anyway."""
        try:
            await self._delete(keys=[self.key], args=[self.value])
        except REDIS_ERRORS as exc:
            logger.warning("Could not release the polling lease (%s); it expires by itself.", exc)


class LeaseKeeper:
    """Renews the lease while polling. `halted` is set while fetching is not safe (renewals
    fail, or the lease was lost); `lost` when another poller took it (this one must stop)."""

    def __init__(self, lease: PollingLease, valid_until: float) -> None:
        self.lease = lease
        self.valid_until = valid_until
        self.halted = asyncio.Event()
        self.lost = asyncio.Event()
        self._changed = asyncio.Event()
        # Fetching stops this long before the lease would expire: time to close a long poll.
        self.margin = lease.ttl / 3
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start renewing in the background."""
        self._task = asyncio.create_task(self._run(), name="polling-lease")

    async def stop(self) -> None:
        """Stop renewing and give the lease up."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if not self.lost.is_set():
            await self.lease.release()

    async def resumed_or_lost(self) -> None:
        """Wait until fetching is safe again, or the lease is lost."""
        while self.halted.is_set() and not self.lost.is_set():
            self._changed.clear()
            await self._changed.wait()

    def _set(self, halted: bool, lost: bool = False) -> None:
        if halted:
            self.halted.set()
        else:
            self.halted.clear()
        if lost:
            self.lost.set()
        self._changed.set()

    async def _run(self) -> None:
        step = self.lease.ttl / 3
        while not self.lost.is_set():
            # Wake in time to renew before fetching would have to stop, but never busy-loop.
            safe_for = self.valid_until - self.margin - time.monotonic()
            await asyncio.sleep(max(min(step, safe_for), self.lease.ttl / 6))
            started = time.perf_counter()
            try:
                valid_until = await self._renew_or_retake()
            except REDIS_ERRORS as exc:
                record_redis_command("lease_renew", time.perf_counter() - started, failed=True)
                self.lease.connection.outage.failed(exc)
                step = self.lease.ttl / 6
                if time.monotonic() >= self.valid_until - self.margin and not self.halted.is_set():
                    logger.warning(
                        "The polling lease could not be renewed: fetching stops before it "
                        "expires, so that no other host polls at the same time."
                    )
                    self._set(halted=True)
                continue
            record_redis_command("lease_renew", time.perf_counter() - started, failed=False)
            if valid_until is None:
                self._set(halted=True, lost=True)
                return
            self.lease.connection.outage.succeeded()
            self.valid_until, step = valid_until, self.lease.ttl / 3
            if self.halted.is_set():
                logger.info("The polling lease is held again: fetching resumes.")
                self._set(halted=False)

    async def _renew_or_retake(self) -> float | None:
        renewed = await self.lease.renew()
        if renewed is not None:
            return renewed
        try:  # expired (or Redis restarted empty): ours again unless someone took it
            return await self.lease.acquire()
        except LeaseHeld as exc:
            logger.error(
                "Another poller took the polling lease (%s) while this one could not renew it.",
                exc.held.holder.describe(),
            )
            return None


async def take_lease(
    connection: RedisConnection, holder: LockHolder, bot_label: str
) -> LeaseKeeper | LeaseRefusal:
    """The lease for `holder`, kept by a LeaseKeeper not yet started; or why not: Redis
    unreachable (exit 2), another host polls (exit 3), a Redis failure meanwhile (exit 1)."""
    try:
        if problem := await unreachable(connection.redis, connection.settings):
            return LeaseRefusal(ExitCode.CONFIG, problem)
        lease = PollingLease(connection, holder)
        return LeaseKeeper(lease, await lease.acquire())
    except LeaseHeld as exc:
        count_lock_refusal("lease")
        return LeaseRefusal(ExitCode.LOCKED, lease_held_message(exc.held, bot_label))
    except REDIS_ERRORS as exc:
        message = f"Redis failed while taking the polling lease ({exc}); try again."
        return LeaseRefusal(ExitCode.ERROR, message)


def lease_held_message(held: LeaseHolder, bot_label: str) -> str:
    """Exit 3: another host polls this bot (the Redis lease is taken)."""
    holder = held.holder
    return (
        f"Another poller of bot {bot_label} holds the polling lease in Redis "
        f"({holder.describe()}; command: {holder.command}): only one poller per bot may run, "
        f"on any host. Stop it there; if it was killed, the lease frees itself in "
        f"{held.expires_in:.0f} s (POLLING_LEASE_TTL). `python -m bot doctor` shows the holder."
    )
