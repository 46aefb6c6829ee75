"""Incoming throttling's counts on Redis: one count per user and window for every worker and
host of the bot, so that the limit holds however the updates are spread.

A fixed window: the first update of a window creates the count with the window's expiry
(INCR + PEXPIRE in one Lua script, so no count is left without an expiry). Over the limit,
the episode key (SET NX, renewed by every dropped update) tells exactly one process to send
the notice. While Redis is unreachable, each process counts in its own memory (the outage is
logged once), so the limit is per process until Redis is back.
"""

from __future__ import annotations

from bot.runtime.shared.redis.connection import REDIS_ERRORS, RedisConnection
from bot.runtime.updates.throttle import Limit, LocalCounter, Verdict

# KEYS: the count, the episode. ARGV: limit, window in ms.
# Returns 0: allowed, 1: over (the user was told), 2: the first over in this episode.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if count <= tonumber(ARGV[1]) then return 0 end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then return 2 end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
"""
# KEYS: the count. Only a count that exists is lowered: a missing one stays missing.
_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECR', KEYS[1]) end
return 0
"""
_VERDICTS = {0: Verdict.ALLOWED, 1: Verdict.OVER, 2: Verdict.FIRST_OVER}


class RedisThrottleCounter:
    """The counts in Redis, `<prefix>:<bot id>:throttle:<scope>:<user id>` (and `:episode`)."""

    def __init__(self, connection: RedisConnection) -> None:
        self.connection = connection
        self.prefix = f"{connection.prefix}:throttle:"
        self._hit = connection.redis.register_script(_HIT)
        self._give_back = connection.redis.register_script(_GIVE_BACK)
        self._fallback = LocalCounter()

    async def hit(self, key: str, limit: Limit) -> Verdict:
        """Count one update of `key` for all the bot's processes; the verdict on it."""
        count = self.prefix + key
        window_ms = str(max(1, round(limit.window * 1000)))
        try:
            answer = await self._hit(
                keys=[count, count + ":episode"], args=[limit.limit, window_ms]
            )
        except REDIS_ERRORS as exc:
            self.connection.outage.failed(exc)
            return await self._fallback.hit(key, limit)
        self.connection.outage.succeeded()
        return _VERDICTS[int(answer)]

    async def give_back(self, key: str) -> None:
        """Un-count one update of `key`."""
        try:
            await self._give_back(keys=[self.prefix + key], args=[])
        except REDIS_ERRORS as exc:
            self.connection.outage.failed(exc)
            await self._fallback.give_back(key)
