"""The flood-control section: how fast the bot sends, so Telegram never answers 429.

Telegram allows about 1 message per second in one chat (short bursts tolerated), 20 per
minute in one group and about 30 per second in all; a bot that sends faster gets 429 Too Many
Requests. A burst is counted as a window: at most BURST messages in any BURST / RATE seconds.
The defaults send no bursts at all, one message every 1 / RATE seconds: evenly spaced messages
stay under the limit however Telegram counts it (a token bucket, a sliding window), and jitter
on the way cannot bunch them. A larger burst is safe only when Telegram's own is a multiple of
it and its window is counted the same way.
"""

from __future__ import annotations

from pydantic import BaseModel

from bot.settings.fields import setting


class FloodSettings(BaseModel):
    """Flood control: outgoing messages paced at Telegram's limits, 429s retried (with
    the shared state the budget is shared by every worker and host of the bot)."""

    flood_control: bool = setting(
        True, "pace outgoing messages at the limits below and retry 429 Too Many Requests"
    )
    flood_global_rate: float = setting(
        30.0,
        "messages per second the bot sends in all chats together (Telegram: about 30)",
        examples=("production",),
        gt=0,
        le=10_000,
    )
    flood_global_burst: int = setting(
        1,
        "messages at most in any FLOOD_GLOBAL_BURST / FLOOD_GLOBAL_RATE seconds, in all chats",
        examples=("production",),
        ge=1,
    )
    flood_chat_rate: float = setting(
        1.0,
        "messages per second in one private chat (Telegram: about 1)",
        examples=("production",),
        gt=0,
        le=1000,
    )
    flood_chat_burst: int = setting(
        1,
        "messages at most in any FLOOD_CHAT_BURST / FLOOD_CHAT_RATE seconds, in one chat",
        examples=("production",),
        ge=1,
    )
    flood_group_rate: float = setting(
        20.0,
        "messages per minute in one group, supergroup or channel (Telegram: 20)",
        examples=("production",),
        gt=0,
        le=60_000,
    )
    flood_group_burst: int = setting(
        1,
        "messages at most in one group in any FLOOD_GROUP_BURST / FLOOD_GROUP_RATE minutes",
        examples=("production",),
        ge=1,
    )
    flood_retries: int = setting(
        5,
        "times a message answered 429 is sent again, each after Telegram's `retry_after`",
        examples=("production",),
        ge=0,
        le=100,
    )
