"""Telegram's flood limits: a bot that sends faster gets 429 `Too Many Requests: retry after N`.

Three budgets, as the Bot API enforces: about 1 message per second in one chat, 20 per minute
in one group, about 30 per second in all. A message must fit every budget it belongs to; a
refused one consumes nothing, and its `retry_after` is the whole seconds until it would fit (at
least 1, as Telegram answers).

Telegram does not publish how it counts, so there are two readings: by default each budget is
a token bucket (a burst, then a steady rate); with `sliding_window=True` it is a window (at
most `burst` messages in any `burst / rate` seconds: 30 in any second in all, 3 in any 3 s in
a chat), which refuses a token bucket's sender as soon as its burst comes on top of its rate.

The numbers are `FloodLimits`: `FloodLimits()` is Telegram's, and `scaled(k)` keeps the shape
(same bursts) at k times the rates, so a test of 1,000 messages runs in seconds, not half a
minute.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import too_many_requests

JSON = dict[str, Any]

# The methods that put a message in a chat (or change one): the ones flood control counts.
# getMe, getUpdates, answerCallbackQuery, sendChatAction, deleteMessage... are not counted.
COUNTED_METHODS = frozenset({"sendmessage", "editmessagetext", "editmessagereplymarkup"})
GROUP_TYPES = frozenset({"group", "supergroup", "channel"})
# How far back the send rates shown by the control route look.
RATE_WINDOW = 60.0


@dataclass(frozen=True)
class FloodLimits:
    """Rates and bursts of the three budgets (Telegram's by default)."""

    chat_per_second: float = 1.0
    chat_burst: int = 3
    group_per_minute: float = 20.0
    group_burst: int = 5
    global_per_second: float = 30.0
    global_burst: int = 30
    sliding_window: bool = False  # count each budget as a window instead of a token bucket

    def scaled(self, factor: float) -> FloodLimits:
        """The same shape (bursts) at `factor` times every rate."""
        return dataclasses.replace(
            self,
            chat_per_second=self.chat_per_second * factor,
            group_per_minute=self.group_per_minute * factor,
            global_per_second=self.global_per_second * factor,
        )


@dataclass
class Bucket:
    """A token bucket: `burst` tokens, refilled at `rate` per second."""

    rate: float
    burst: int
    tokens: float = -1.0  # full until first used
    updated: float = 0.0

    def wait(self, now: float) -> float:
        """Seconds until one token is there (0: now)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        """Spend one token (call `wait` first)."""
        self._refill(now)
        self.tokens -= 1.0

    def _refill(self, now: float) -> None:
        if self.tokens < 0:
            self.tokens, self.updated = float(self.burst), now
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now


@dataclass
class Window:
    """A sliding window: at most `burst` admissions in any `burst / rate` seconds."""

    rate: float
    burst: int
    admitted: deque[float] = field(default_factory=deque)

    def wait(self, now: float) -> float:
        """Seconds until one more fits (0: now)."""
        span = self.burst / self.rate
        while self.admitted and self.admitted[0] <= now - span:
            self.admitted.popleft()
        return 0.0 if len(self.admitted) < self.burst else self.admitted[0] + span - now

    def take(self, now: float) -> None:
        """Count one admission (call `wait` first)."""
        self.admitted.append(now)


Budget = Bucket | Window


def budget(limits: FloodLimits, rate: float, burst: int) -> Budget:
    """A budget of `rate` per second and `burst`, in the reading `limits` chose."""
    return Window(rate, burst) if limits.sliding_window else Bucket(rate, burst)


@dataclass
class ChatTraffic:
    """What the control route shows for one chat."""

    chat_type: str
    sent: deque[float] = field(default_factory=deque)  # admission times, last RATE_WINDOW s
    refused: int = 0  # 429s answered in this chat


class FloodControl:
    """The budgets of one bot: admits a counted call or raises Telegram's 429."""

    def __init__(self, limits: FloodLimits) -> None:
        self.limits = limits
        self.global_bucket = budget(limits, limits.global_per_second, limits.global_burst)
        self.chat_buckets: dict[int, Budget] = {}
        self.traffic: dict[int, ChatTraffic] = {}
        self.refused = 0

    def admit(self, method: str, chat: JSON | None) -> None:
        """Count one call of `method` in `chat` (None: no chat, e.g. an inline message), or
        raise 429 with `retry_after` when a budget is spent."""
        if method.lower() not in COUNTED_METHODS:
            return
        now = time.monotonic()
        buckets: list[Budget] = [self.global_bucket]
        traffic: ChatTraffic | None = None
        if chat is not None:
            buckets.append(self._chat_bucket(chat))
            traffic = self.traffic.setdefault(chat["id"], ChatTraffic(chat["type"]))
        wait = max(bucket.wait(now) for bucket in buckets)
        if wait > 0:
            self.refused += 1
            if traffic is not None:
                traffic.refused += 1
            raise too_many_requests(max(1, math.ceil(wait)))
        for bucket in buckets:
            bucket.take(now)
        if traffic is not None:
            traffic.sent.append(now)

    def _chat_bucket(self, chat: JSON) -> Budget:
        bucket = self.chat_buckets.get(chat["id"])
        if bucket is None:
            limits = self.limits
            if chat["type"] in GROUP_TYPES:
                bucket = budget(limits, limits.group_per_minute / 60.0, limits.group_burst)
            else:
                bucket = budget(limits, limits.chat_per_second, limits.chat_burst)
            self.chat_buckets[chat["id"]] = bucket
        return bucket

    def report(self) -> JSON:
        """The limits, the 429s answered, and each chat's send rate over the last second and
        minute (the control route's answer)."""
        now = time.monotonic()
        chats = []
        for chat_id, traffic in self.traffic.items():
            while traffic.sent and traffic.sent[0] < now - RATE_WINDOW:
                traffic.sent.popleft()
            chats.append(
                {
                    "chat_id": chat_id,
                    "type": traffic.chat_type,
                    "last_second": sum(t >= now - 1.0 for t in traffic.sent),
                    "last_minute": len(traffic.sent),
                    "too_many_requests": traffic.refused,
                }
            )
        return {
            "limits": dataclasses.asdict(self.limits),
            "too_many_requests": self.refused,
            "chats": chats,
        }
