"""The busy-chat scenario of the flood tests: one user sends 200 messages at once while 20
users write once; how long the 20 wait, and what became of the flooder's messages."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from prometheus_client import REGISTRY

from bot.owner import BotRuntime
from bot.polling.update_tasks import CHAT_BACKLOG
from sandbox import Emulator
from tests.helpers.constants import CONVERSATION_HANDLERS
from tests.helpers.flood import broadcast_settings
from tests.helpers.logs import LogWatcher
from tests.helpers.polling import poll_in_background

FLOODER, OTHERS = 1, range(2, 22)  # one user sends 200 at once, 20 users write once
ANSWERED_WITHIN = 5.0
FLOOD_WARNING = "sends faster than the bot can answer"


def dropped_so_far() -> float:
    """telegram_bot_updates_total{outcome="dropped"} of this process, messages."""
    labels = {"type": "message", "outcome": "dropped"}
    return REGISTRY.get_sample_value("telegram_bot_updates_total", labels) or 0.0


async def flood_then_others(tg: Emulator, token: str) -> float:
    """The flooder's 200, then one message from each of the others: seconds until all 20 of
    them have their reply."""
    for n in range(200):
        tg.send_text(token, f"flood {n}", chat_id=FLOODER)
    loop = asyncio.get_running_loop()
    began = loop.time()
    for user in OTHERS:
        tg.send_text(token, f"hi from {user}", chat_id=user)
    await tg.wait_until(
        lambda: all(tg.bot_messages(token, user) for user in OTHERS),
        timeout=30,
        what="a reply to each of the 20 users",
        have=lambda: sum(bool(tg.bot_messages(token, user)) for user in OTHERS),
    )
    return loop.time() - began


async def run_flood(
    tg: Emulator, token: str, tmp_path: Path, logs: LogWatcher, **extra: str
) -> float:
    """The flood against a polling bot (with `extra` settings): what `flood_then_others`
    measured; the bot is stopped before it returns."""
    settings = broadcast_settings(
        tg,
        token,
        tmp_path,
        1,
        HANDLERS_MODULE=CONVERSATION_HANDLERS,
        SHUTDOWN_TIMEOUT="1",  # the flooder's backlog is not waited for at the end
        **extra,
    )
    bot = poll_in_background(BotRuntime(settings))
    try:
        await tg.wait_until(lambda: tg.bot(token).long_poll_parked, what="the long poll")
        took = await flood_then_others(tg, token)
        await logs.wait_for(lambda: logs.count(FLOOD_WARNING) > 0, what="the flood warning")
    finally:
        await bot.stop()
    print(f"the 20 other users were answered within {took:.2f} s")
    return took


def assert_flooder_limited(tg: Emulator, token: str, logs: LogWatcher, dropped: float) -> None:
    """The flooder is answered in order, as far as its backlog goes; the rest of its 200 are
    dropped, counted, and said once."""
    flood_replies = [m["text"] for m in tg.bot_messages(token, FLOODER)]
    assert flood_replies == [f"flood {n}" for n in range(len(flood_replies))]
    # 1 running, CHAT_BACKLOG queued behind it, a few more as the queue drained meanwhile.
    assert 200 - 1 - CHAT_BACKLOG - len(flood_replies) <= dropped <= 200 - 1 - CHAT_BACKLOG
    assert logs.count(FLOOD_WARNING, logging.WARNING) == 1
