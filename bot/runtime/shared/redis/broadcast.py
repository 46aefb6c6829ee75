"""Broadcast progress in Redis (REDIS_URL): any worker or host of the bot resumes a job.

`<prefix>:<bot id>:broadcast:<id>` is a hash: `job` (what and to whom) and one field per chat
(its state); `<prefix>:<bot id>:broadcasts` the set of unfinished ids; `...:broadcast:<id>:
runner` the lease of the process that runs the job, renewed while it runs, so that a runner
killed with kill -9 frees the job after LEASE_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import secrets
from collections.abc import AsyncIterator

from bot.runtime.broadcast.broadcaster import BroadcastJob
from bot.runtime.shared.redis.connection import DELETE_IF_OURS, RedisConnection

LEASE_SECONDS = 30
# A finished job's progress is kept this long (to read it back), then Redis drops it.
FINISHED_TTL = 7 * 86400


class RedisBroadcastStore:
    """Jobs and their progress in the bot's Redis."""

    def __init__(self, connection: RedisConnection) -> None:
        self.connection = connection
        self.redis = connection.redis
        self.prefix = f"{connection.prefix}:broadcast:"
        self.unfinished_key = f"{connection.prefix}:broadcasts"
        self._delete_if_ours = connection.redis.register_script(DELETE_IF_OURS)

    async def save(self, job: BroadcastJob) -> bool:
        """Keep a new job; False when a job with its id exists."""
        key, raw = self.prefix + job.id, json.dumps(dataclasses.asdict(job))
        if not await self.connection.outage.guard(
            "broadcast", lambda: self.redis.hsetnx(key, "job", raw)
        ):
            return False
        await self.connection.outage.guard(
            "broadcast", lambda: self.redis.sadd(self.unfinished_key, job.id)
        )
        return True

    async def unfinished(self) -> list[str]:
        """Ids of the jobs not finished yet."""
        members = await self.connection.outage.guard(
            "broadcast", lambda: self.redis.smembers(self.unfinished_key)
        )
        return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)

    @contextlib.asynccontextmanager
    async def running(self, job_id: str) -> AsyncIterator[BroadcastJob | None]:
        """The job, while this process holds its lease; None if another one does."""
        lease, owner = f"{self.prefix}{job_id}:runner", secrets.token_hex(8)
        taken = await self.connection.outage.guard(
            "broadcast", lambda: self.redis.set(lease, owner, nx=True, ex=LEASE_SECONDS)
        )
        if not taken:
            yield None
            return
        renewal = asyncio.create_task(self._renew(lease))
        try:
            raw = await self.connection.outage.guard(
                "broadcast", lambda: self.redis.hget(self.prefix + job_id, "job")
            )
            if raw is None:
                yield None
                return
            fields = json.loads(raw)
            fields["chat_ids"] = tuple(fields["chat_ids"])
            yield BroadcastJob(**fields)
        finally:
            renewal.cancel()
            with contextlib.suppress(Exception):  # it expires anyway
                await self._delete_if_ours(keys=[lease], args=[owner])

    async def _renew(self, lease: str) -> None:
        while True:
            await asyncio.sleep(LEASE_SECONDS / 3)
            with contextlib.suppress(Exception):  # an outage: the next renewal tries again
                await self.redis.expire(lease, LEASE_SECONDS)

    async def progress(self, job_id: str) -> dict[int, str]:
        """Each chat's state so far."""
        fields = await self.connection.outage.guard(
            "broadcast", lambda: self.redis.hgetall(self.prefix + job_id)
        )
        states: dict[int, str] = {}
        for name, value in fields.items():
            name = name.decode() if isinstance(name, bytes) else str(name)
            if name != "job":
                states[int(name)] = value.decode() if isinstance(value, bytes) else str(value)
        return states

    async def note(self, job_id: str, chat_id: int, state: str) -> None:
        """Write down one chat's state."""
        key = self.prefix + job_id
        await self.connection.outage.guard(
            "broadcast", lambda: self.redis.hset(key, str(chat_id), state)
        )

    async def finish(self, job_id: str) -> None:
        """Mark the job finished; its progress stays for FINISHED_TTL."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.srem(self.unfinished_key, job_id)
            pipe.expire(self.prefix + job_id, FINISHED_TTL)
            await self.connection.outage.guard("broadcast", pipe.execute)
