"""/broadcast: a message to many chats at the limit, in the background, that survives kill -9
without sending anyone the message twice, while the bot keeps answering everyone."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.factory import create_bot, create_broadcaster
from tests.helpers.flood import (
    StartEmulator,
    broadcast_settings,
    delivered,
    too_many_requests,
)

USER = 2


async def test_a_reply_waits_only_a_moment_behind_a_running_broadcast(
    limited_emulator: StartEmulator, token: str, tmp_path: Path
) -> None:
    scale = 4  # 120 messages/s: 300 chats take 2.5 s
    tg = await limited_emulator(scale)
    audience = list(range(1001, 1301))
    tg.add_chats(token, [*audience, USER])
    settings = broadcast_settings(tg, token, tmp_path, scale)
    bot = create_bot(settings)
    broadcaster = create_broadcaster(settings, None)
    try:
        assert await broadcaster.start(bot, "news", audience, "Hello!", report_to=None)
        assert not await broadcaster.start(bot, "news", audience, "Hello!", report_to=None)
        await tg.wait_until(lambda: len(delivered(tg, token)) >= 50, what="50 chats reached")
        loop = asyncio.get_running_loop()
        began = loop.time()
        await bot.send_message(USER, "a reply")
        waited = loop.time() - began
        still_sending = len(delivered(tg, token)) < len(audience)
        report = await broadcaster.wait("news")
    finally:
        await broadcaster.stop()
        await bot.session.close()

    # Behind a queue of 250 broadcast messages the reply would wait 2 s; it waits a slot.
    assert still_sending and waited < 1.0, waited
    assert report is not None and (report.sent, report.failed, report.unknown) == (300, 0, 0)
    assert too_many_requests(tg, token) == 0
