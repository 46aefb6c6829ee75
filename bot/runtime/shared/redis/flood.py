"""Flood control's budget on Redis: one budget per bot, shared by every worker and host.

The booking (`bot.runtime.outgoing.flood.book_slot`: each budget a list of its last slots) runs
as one Lua script, on Redis' clock, so two processes never book the same slot and hosts need no
synchronised clocks. The bookings of every message in flight go in one pipeline per turn of
the event loop (`ScriptBatch`).
While Redis is unreachable, each process books in its own budget (the outage is logged once),
and Telegram's 429s, retried, cover the difference.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.runtime.outgoing.flood import CHAT_HORIZON, Booking, Budget, LocalBudget
from bot.runtime.shared.redis.connection import REDIS_ERRORS, RedisConnection
from bot.runtime.shared.redis.record import ScriptBatch

# Times in microseconds (Lua numbers are doubles: exact up to 2^53, some 285 years of us).
# KEYS: the budgets, each a list of its last booked slots, oldest first.
# ARGV[1]: horizon (-1: none); ARGV[2]: a 429's hold, the slot's least distance from now
# (-1: none); ARGV[3]: the chat horizon; then per budget: count, window. Returns {1, wait}
# when booked, {0, ask again in} when not. The same steps as `bot.runtime.outgoing.flood.book_slot`.
_BOOK = """
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local horizon = tonumber(ARGV[1])
local hold = tonumber(ARGV[2])
local slot = now
if hold >= 0 then slot = now + hold end
local own = now
local logs = {}
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[2 * i + 2])
  local window = tonumber(ARGV[2 * i + 3])
  local log = redis.call('LRANGE', key, 0, -1)
  for j = 1, #log do log[j] = tonumber(log[j]) end
  logs[i] = log
  if #log > 0 then
    local earliest = log[#log]
    if #log >= count then earliest = math.max(earliest, log[#log - count + 1] + window) end
    slot = math.max(slot, earliest)
    if i > 1 then own = math.max(own, earliest) end
  end
end
if hold < 0 and own - now > tonumber(ARGV[3]) then return {0, own - now - tonumber(ARGV[3])} end
if horizon >= 0 and slot - own > horizon then return {0, slot - own - horizon} end
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[2 * i + 2])
  local window = tonumber(ARGV[2 * i + 3])
  local log = logs[i]
  local kept = {}
  for j = math.max(#log - count + 2, 1), #log do kept[#kept + 1] = log[j] end
  kept[#kept + 1] = slot
  if hold >= 0 then
    -- As if the budget had sent at its rate up to the slot: no burst right after a 429.
    local steady = {}
    for k = count - 1, 0, -1 do steady[#steady + 1] = slot - k * window / count end
    local missing = count - #kept
    for j = 1, count do
      local have = kept[j - missing]
      if have == nil or have < steady[j] then have = steady[j] end
      steady[j] = have
    end
    kept = steady
  end
  local values = {}
  for j = 1, #kept do values[j] = string.format('%.0f', kept[j]) end
  redis.call('DEL', key)
  redis.call('RPUSH', key, unpack(values))
  redis.call('PEXPIRE', key, math.ceil((slot + window - now) / 1000) + 1000)
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
        return await self._run(budgets, horizon, None)

    async def hold(self, budgets: Sequence[Budget], seconds: float) -> Booking:
        """After a 429: the first slot at least `seconds` away, ahead of later bookings."""
        return await self._run(budgets, None, seconds)

    async def _run(
        self, budgets: Sequence[Budget], horizon: float | None, hold: float | None
    ) -> Booking:
        keys = [self.prefix + budget.name for budget in budgets]
        args = [
            "-1" if horizon is None else _us(horizon),
            "-1" if hold is None else _us(hold),
            _us(CHAT_HORIZON),
        ]
        for budget in budgets:
            args += [str(budget.count), _us(budget.window)]
        try:
            booked, wait = await self._batch.run(self._book, keys, args)
        except REDIS_ERRORS as exc:
            self.connection.outage.failed(exc)
            if hold is None:
                return await self._fallback.book(budgets, horizon)
            return await self._fallback.hold(budgets, hold)
        self.connection.outage.succeeded()
        return Booking(bool(int(booked)), int(wait) / MICRO)
