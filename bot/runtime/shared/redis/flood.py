"""Flood control's budget on Redis: one budget per bot, shared by every worker and host.

The booking (`bot.runtime.outgoing.flood.book_slot`) runs as one Lua script, on Redis' clock, so two
processes never book the same slot and hosts need no synchronised clocks. The bookings of
every message in flight go in one pipeline per turn of the event loop (`ScriptBatch`).
While Redis is unreachable, each process books in its own budget (the outage is logged once),
and Telegram's 429s, retried, cover the difference.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.runtime.outgoing.flood import Booking, Budget, LocalBudget
from bot.runtime.shared.redis.connection import REDIS_ERRORS, RedisConnection
from bot.runtime.shared.redis.record import ScriptBatch

# Times in microseconds (Lua numbers are doubles: exact up to 2^53, some 285 years of us).
# KEYS: the budgets. ARGV[1]: horizon (-1: none); then per budget: interval, tolerance.
# Returns {1, wait} when booked, {0, ask again in} when not.
_BOOK = """
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local horizon = tonumber(ARGV[1])
local slot = now
local arrivals = {}
for i, key in ipairs(KEYS) do
  arrivals[i] = tonumber(redis.call('GET', key) or '0')
  local earliest = arrivals[i] - tonumber(ARGV[2 * i + 1])
  if earliest > slot then slot = earliest end
end
if horizon >= 0 and slot - now > horizon then return {0, slot - now - horizon} end
for i, key in ipairs(KEYS) do
  local arrival = math.max(arrivals[i], slot) + tonumber(ARGV[2 * i])
  local ttl = math.ceil((arrival - now) / 1000) + 1000
  redis.call('SET', key, string.format('%.0f', arrival), 'PX', ttl)
end
return {1, slot - now}
"""
MICRO = 1_000_000


def _us(seconds: float) -> str:
    return str(round(seconds * MICRO))


class RedisBudget:
    """The bot's budgets in Redis, `<prefix>:<bot id>:flood:<budget>`."""

    def __init__(self, connection: RedisConnection) -> None:
        self.connection = connection
        self.prefix = f"{connection.prefix}:flood:"
        self._book = connection.redis.register_script(_BOOK)
        self._batch = ScriptBatch(connection)
        self._fallback = LocalBudget()

    async def book(self, budgets: Sequence[Budget], horizon: float | None) -> Booking:
        """The first slot that fits every budget, for all the bot's processes together."""
        keys = [self.prefix + budget.name for budget in budgets]
        args = ["-1" if horizon is None else _us(horizon)]
        for budget in budgets:
            args += [_us(budget.interval), _us(budget.tolerance)]
        try:
            booked, wait = await self._batch.run(self._book, keys, args)
        except REDIS_ERRORS as exc:
            self.connection.outage.failed(exc)
            return await self._fallback.book(budgets, horizon)
        self.connection.outage.succeeded()
        return Booking(bool(int(booked)), int(wait) / MICRO)
