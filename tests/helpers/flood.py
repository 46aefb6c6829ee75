"""Flood-control tests: Telegram's limits at a faster pace (same shape), and what the emulator
saw of the bot's messages."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.settings import Settings, load_settings
from sandbox import ApiCall, Emulator, FloodLimits

TELEGRAM = FloodLimits()
# How the emulator counts the limits (`FloodLimits.sliding_window`): the flood tests run under each.
READINGS = ("token bucket", "sliding window")
# The `limited_emulator` fixture: starts one with Telegram's limits `scale` times faster.
StartEmulator = Callable[[float], Awaitable[Emulator]]
ADMIN = 1  # the chat the broadcasts report to
BROADCAST_REPORT = re.compile(
    r"Broadcast \S+ is done: (\d+) of (\d+) chats got it, (\d+) blocked the bot, (\d+) failed"
    r"(?:, (\d+) unknown)?"
)


def bot_limits(scale: float) -> dict[str, str]:
    """FLOOD_* settings for a bot facing `TELEGRAM.scaled(scale)` (the bot's bursts stay the
    defaults)."""
    limits = TELEGRAM.scaled(scale)
    return {
        "FLOOD_GLOBAL_RATE": str(limits.global_per_second),
        "FLOOD_CHAT_RATE": str(limits.chat_per_second),
        "FLOOD_GROUP_RATE": str(limits.group_per_minute),
    }


def sends(tg: Emulator, token: str, chat_id: int | None = None) -> list[ApiCall]:
    """The sendMessage calls the emulator answered (ok or not), of one chat if given."""
    calls = tg.api_calls(token, "sendMessage")
    return [c for c in calls if chat_id is None or c.params.get("chat_id") == chat_id]


def delivered(tg: Emulator, token: str) -> list[ApiCall]:
    """The sendMessage calls that put a message in a chat."""
    return [c for c in sends(tg, token) if c.ok]


def too_many_requests(tg: Emulator, token: str) -> int:
    """How many 429s the bot received."""
    return sum(c.error_code == 429 for c in tg.api_calls(token))


def most_in_one_window(times: list[float], window: float) -> int:
    """The largest number of `times` within any `window` seconds (a sliding window's count)."""
    times = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


def span(calls: list[ApiCall]) -> float:
    """Seconds from the first call's arrival to the last one's answer."""
    return max(c.finished for c in calls) - min(c.started for c in calls)


def broadcast_settings(
    tg: Emulator, token: str, tmp_path: Path, scale: float, **extra: str
) -> Settings:
    """Settings of a bot built in the test's process, facing `tg` with limits at `scale`."""
    values = {
        "BOT_TOKEN": token,
        "TELEGRAM_API_URL": tg.base_url,
        "LOCK_DIR": str(tmp_path / "state"),
        **bot_limits(scale),
        **extra,
    }
    return load_settings(overrides=values, root=tmp_path, environment=False)
