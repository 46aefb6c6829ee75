"""The update record shared by every worker and host (see bot.runtime.updates.dedup), in Redis.

A claim is `running:<host>:<pid>:<random>` with a short TTL (UPDATE_CLAIM_TTL: longer than
a handler may run plus the shutdown's grace), so a worker killed mid-handler frees it for
Telegram's retry; done is `done` for UPDATE_DONE_TTL (a day: Telegram keeps an update for 24
hours).

Each update costs two scripts, not five commands: the claim also takes the lock of the
update's conversation and reads its FSM state (which aiogram's FSM middleware then finds in
the update's scope), and `finish()` marks it done and frees the lock. The scripts of every
update in flight are sent together, one pipeline per turn of the event loop: measured
(bench/README.md), a redis-py command costs ~110 us of the worker's CPU alone and ~40-70 us
in a pipeline, which is most of what the Redis path costs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from typing import Any

from aiogram.fsm.storage.base import StorageKey
from redis.commands.core import AsyncScript

from bot.runtime.shared.redis.connection import RedisConnection, UpdateScope, claim_seconds
from bot.runtime.updates.dedup import Claim

logger = logging.getLogger(__name__)

# KEYS: update, lock ('' without a conversation), state. ARGV: owner, claim ms, token, lock ms.
# Returns {0 new, 1 running, 2 done[, 1 if the lock was taken, the state]}.
_BEGIN = """
local value = redis.call('GET', KEYS[1])
if value then
  if value == 'done' then return {2} end
  return {1}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if KEYS[2] == '' then return {0, 0} end
if not redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) then return {0, 0} end
return {0, 1, redis.call('GET', KEYS[3]) or ''}
"""
# KEYS: update, lock (or ''). ARGV: done ms, token. Returns 0 when the lock was no longer ours.
_FINISH = """
redis.call('SET', KEYS[1], 'done', 'PX', ARGV[1])
if KEYS[2] == '' then return 1 end
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) return 1 end
return 0
"""
# KEYS: update, lock (or ''). ARGV: owner, token. Drops what is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
if KEYS[2] ~= '' and redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return 1
"""


class ScriptBatch:
    """Runs scripts in one pipeline per turn of the event loop: the calls made while one
    batch is on its way wait for the next."""

    def __init__(self, connection: RedisConnection) -> None:
        self.connection = connection
        self._queue: list[tuple[AsyncScript, list[str], list[str], asyncio.Future[Any]]] = []
        self._flushing = False

    async def run(self, script: AsyncScript, keys: list[str], args: list[str]) -> Any:
        """The script's answer (Redis errors are raised to each caller)."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((script, keys, args, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().call_soon(self._start_flush)
        return await future

    def _start_flush(self) -> None:
        task = asyncio.create_task(self._flush())
        task.add_done_callback(lambda _task: None)  # errors go to the callers' futures

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                answers = await self._send(batch)
            except BaseException as exc:  # the connection failed: every caller hears it
                answers = [exc] * len(batch)
            for (_, _, _, future), answer in zip(batch, answers, strict=True):
                if future.done():
                    continue
                if isinstance(answer, BaseException):
                    future.set_exception(answer)
                else:
                    future.set_result(answer)
        self._flushing = False

    async def _send(
        self, batch: list[tuple[AsyncScript, list[str], list[str], asyncio.Future[Any]]]
    ) -> list[Any]:
        if len(batch) == 1:  # alone: a pipeline would only add its own cost
            script, keys, args, _ = batch[0]
            return [await script(keys=keys, args=args)]
        async with self.connection.redis.pipeline(transaction=False) as pipe:
            for script, keys, args, _ in batch:
                await script(keys=keys, args=args, client=pipe)
            return list(await pipe.execute(raise_on_error=False))


class RedisDeduplicator:
    """Claims, finishes and releases updates for every worker and host of the bot."""

    def __init__(self, connection: RedisConnection) -> None:
        settings = connection.settings
        self.connection = connection
        self.prefix = f"{connection.prefix}:update:"
        self.claim_ms = str(claim_seconds(settings) * 1000)
        self.done_ms = str(settings.update_done_ttl * 1000)
        self.owner = f"running:{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._begin = connection.redis.register_script(_BEGIN)
        self._finish = connection.redis.register_script(_FINISH)
        self._release = connection.redis.register_script(_RELEASE)
        self._batch = ScriptBatch(connection)

    def key(self, update_id: int) -> str:
        """The Redis key of one update's record."""
        return f"{self.prefix}{update_id}"

    async def claim(self, update_id: int, conversation: StorageKey | None = None) -> Claim:
        """NEW, RUNNING or DONE, atomically for every worker and host; a NEW update's
        conversation lock and state are taken with it."""
        keys = [self.key(update_id), "", ""]
        token = secrets.token_hex(8)
        if conversation is not None:
            keys[1:] = [
                self.connection.keys.build(conversation, "lock"),
                self.connection.keys.build(conversation, "state"),
            ]
        args = [self.owner, self.claim_ms, token, self.claim_ms]
        answer = await self.connection.outage.guard(
            "update_claim", lambda: self._batch.run(self._begin, keys, args)
        )
        claim = (Claim.NEW, Claim.RUNNING, Claim.DONE)[int(answer[0])]
        if claim is Claim.NEW:
            scope = UpdateScope()
            if len(answer) > 1 and int(answer[1]):
                raw = answer[2]
                state = raw.decode() if isinstance(raw, bytes) else str(raw)
                scope = UpdateScope(keys[1], token, keys[2], state or None)
            self.connection.keep_scope(update_id, scope)
        return claim

    async def finish(self, update_id: int) -> None:
        """Remember it as done for UPDATE_DONE_TTL, and free its conversation's lock."""
        scope = self.connection.drop_scope(update_id)
        keys = [self.key(update_id), scope.lock_name or ""]
        args = [self.done_ms, scope.lock_token]
        done = await self.connection.outage.guard(
            "update_finish", lambda: self._batch.run(self._finish, keys, args)
        )
        if not int(done):
            logger.error(
                "Update %d: its conversation's lock expired while the handler ran (longer than "
                "%s ms, UPDATE_CLAIM_TTL); the conversation's next update may have run at the "
                "same time.",
                update_id,
                self.claim_ms,
            )

    async def release(self, update_id: int) -> None:
        """Drop the claim (and the lock it took) if they are still this process's."""
        scope = self.connection.drop_scope(update_id)
        keys = [self.key(update_id), scope.lock_name or ""]
        args = [self.owner, scope.lock_token]
        await self.connection.outage.guard(
            "update_release", lambda: self._batch.run(self._release, keys, args)
        )
