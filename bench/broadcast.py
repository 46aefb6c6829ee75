"""One message to 1,000 chats, against a Bot API that enforces Telegram's flood limits:
plain aiogram (a loop of `send_message`, what a user writes today) and the template's
broadcast helper (flood control in the session, `bot.runtime.broadcast.broadcaster`).

    python -m bench.broadcast                 # Telegram's limits: about 35 s per side
    python -m bench.broadcast --scale 4       # the same shape at 4x the rates (CI-fast)

Everything runs in this process: the emulator (`sandbox.Emulator` with `FloodLimits`) on a
loopback port, and each side with a token of its own (its own budgets in the emulator).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError

from bot.factory import create_bot, create_broadcaster
from bot.settings import load_settings
from sandbox import Emulator, FloodLimits

TEXT = "Our shop opens at 9 tomorrow."


@dataclass
class Result:
    """One side's figures."""

    side: str
    chats: int
    delivered: int
    lost: int
    too_many_requests: int
    seconds: float
    limit_seconds: float  # the least time the global limit allows for these messages

    @property
    def of_limit(self) -> float:
        """How close to the limit's pace it went: the least time the limit allows over the
        time taken (1.0: as fast as allowed)."""
        return self.limit_seconds / self.seconds if self.seconds else 0.0


async def plain_aiogram(tg: Emulator, token: str, chats: list[int]) -> None:
    """What a user writes today: a loop of send_message; a 429 raises, the message is lost."""
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)))
    try:
        for chat_id in chats:
            try:
                await bot.send_message(chat_id, TEXT)
            except TelegramAPIError:  # TelegramRetryAfter among them: skip, go on
                continue
    finally:
        await bot.session.close()


async def template(tg: Emulator, token: str, chats: list[int], scale: float) -> None:
    """The template: its Bot (flood control in the session) and its broadcast helper."""
    limits = FloodLimits().scaled(scale)
    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as folder:
        values = {
            "BOT_TOKEN": token,
            "TELEGRAM_API_URL": tg.base_url,
            "LOCK_DIR": folder,
            "FLOOD_GLOBAL_RATE": str(limits.global_per_second),
            "FLOOD_CHAT_RATE": str(limits.chat_per_second),
            "FLOOD_GROUP_RATE": str(limits.group_per_minute),
        }
        settings = load_settings(overrides=values, root=Path(folder), environment=False)
        bot = create_bot(settings)
        broadcaster = create_broadcaster(settings, None)
        try:
            await broadcaster.start(bot, "bench", chats, TEXT, report_to=None)
            await broadcaster.wait("bench")
        finally:
            await broadcaster.stop()
            await bot.session.close()


async def measure(side: str, chats: int, scale: float) -> Result:
    """Run one side against a fresh emulator with Telegram's limits at `scale`."""
    limits = FloodLimits().scaled(scale)
    token = f"{700 + len(side)}:bench-{side}"
    async with Emulator(flood_limits=limits) as tg:
        audience = list(range(1, chats + 1))
        tg.add_chats(token, audience)
        began = time.monotonic()
        if side == "aiogram":
            await plain_aiogram(tg, token, audience)
        else:
            await template(tg, token, audience, scale)
        seconds = time.monotonic() - began
        sent = tg.api_calls(token, "sendMessage")
        delivered = len({c.params["chat_id"] for c in sent if c.ok})
        refused = sum(c.error_code == 429 for c in sent)
    limit_seconds = max(chats - limits.global_burst, 0) / limits.global_per_second
    return Result(side, chats, delivered, chats - delivered, refused, seconds, limit_seconds)


def table(results: list[Result]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| side | delivered | lost | 429s received | seconds | limit allows (s) | of the limit |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        # A pace is only worth comparing when nothing was lost on the way.
        pace = f"{r.of_limit:.2f}" if r.lost == 0 else "- (lost messages)"
        lines.append(
            f"| {r.side} | {r.delivered} | {r.lost} | {r.too_many_requests} | {r.seconds:.1f} "
            f"| {r.limit_seconds:.1f} | {pace} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.broadcast", description=__doc__)
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--scale", type=float, default=1.0, help="times Telegram's rates")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    results = [
        asyncio.run(measure(side, args.chats, args.scale)) for side in ("aiogram", "template")
    ]
    print(table(results))
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) | {"of_limit": r.of_limit} for r in results]))


if __name__ == "__main__":
    main()
