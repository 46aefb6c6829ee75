"""With REDIS_URL, a broadcast stopped in one process is resumed by another, and no chat gets
the message twice."""

from __future__ import annotations

from pathlib import Path

from bot.factory import create_bot, create_broadcaster, create_shared_state
from tests.helpers.flood import (
    ADMIN,
    BROADCAST_REPORT,
    StartEmulator,
    broadcast_settings,
    delivered,
)
from tests.helpers.redis import RedisServer


async def test_with_redis_another_process_resumes_a_stopped_broadcast_without_repeats(
    limited_emulator: StartEmulator, token: str, tmp_path: Path, redis_server: RedisServer
) -> None:
    scale = 4
    tg = await limited_emulator(scale)
    audience = list(range(1001, 1301))
    tg.add_chats(token, [*audience, ADMIN, 5000])
    tg.block_bot(token, 1100)
    settings = broadcast_settings(tg, token, tmp_path, scale, REDIS_URL=redis_server.url)
    first, second = (create_shared_state(settings) for _ in range(2))
    assert first is not None and second is not None
    bots = [create_bot(settings, first), create_bot(settings, second)]
    stopped, resumed = create_broadcaster(settings, first), create_broadcaster(settings, second)
    try:
        chats = [*audience, 9999]  # 9999: a chat the bot cannot write to
        await stopped.start(bots[0], "news", chats, "Hello!", report_to=ADMIN)
        await tg.wait_until(lambda: len(delivered(tg, token)) >= 100, what="100 chats reached")
        await stopped.stop()
        await resumed.resume(bots[1])
        report = (await tg.wait_bot_messages(token, ADMIN, 1, timeout=30))[0]["text"]
    finally:
        await resumed.stop()
        for bot in bots:
            await bot.session.close()
        await first.close()
        await second.close()

    match = BROADCAST_REPORT.search(report)
    assert match is not None, report
    sent, total, blocked, failed, unknown = (int(g or 0) for g in match.groups())
    per_chat = [len(tg.bot_messages(token, chat)) for chat in audience]
    assert max(per_chat) == 1 and sum(per_chat) == sent == 299  # a stop leaves none unknown
    assert (total, blocked, failed, unknown) == (301, 1, 1, 0)
