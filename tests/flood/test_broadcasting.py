"""/broadcast: a message to many chats at the limit, in the background, that survives kill -9
without sending anyone the message twice, while the bot keeps answering everyone."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.factory import create_bot, create_broadcaster
from tests.helpers.flood import (
    ADMIN,
    BROADCAST_REPORT,
    StartEmulator,
    bot_limits,
    broadcast_settings,
    delivered,
    too_many_requests,
)
from tests.helpers.processes import BotProcess

USER = 2


async def test_a_broadcast_killed_halfway_and_started_again_reaches_every_chat_once(
    limited_emulator: StartEmulator,
    token: str,
    tmp_path: Path,
    start_bot: Callable[..., Awaitable[BotProcess]],
) -> None:
    scale = 2  # 60 messages/s in all: 600 chats take 10 s
    tg = await limited_emulator(scale)
    audience = list(range(1001, 1601))
    tg.add_chats(token, audience)
    tg.block_bot(token, 1500)
    (tmp_path / "audience.txt").write_text("".join(f"{chat}\n" for chat in audience))
    env = {
        "BOT_TOKEN": token,
        "TELEGRAM_API_URL": tg.base_url,
        "LOCK_DIR": str(tmp_path / "state"),
        "ADMIN_IDS": str(ADMIN),
        "BROADCAST_AUDIENCE_FILE": str(tmp_path / "audience.txt"),
        "SHUTDOWN_TIMEOUT": "5",
        **bot_limits(scale),
    }

    def reached() -> int:
        return sum(c.params["chat_id"] in audience for c in delivered(tg, token))

    first = await start_bot(env)
    await first.wait_for_line("is polling", timeout=60)
    tg.send_command(token, "/broadcast Hello, everyone!", chat_id=ADMIN)
    await tg.wait_until(lambda: reached() >= 200, timeout=60, what="200 chats reached")
    first.send_signal(signal.SIGKILL)
    await first.wait()
    at_kill = reached()
    assert at_kill < len(audience)

    second = await start_bot(env)
    await tg.wait_until(lambda: reached() > at_kill + 10, timeout=60, what="the broadcast resumed")
    tg.send_command(token, "/start", chat_id=USER)
    reply = await tg.wait_bot_messages(token, USER, 1, timeout=30)
    reports = await tg.wait_bot_messages(token, ADMIN, 2, timeout=60)
    # The user was answered while the broadcast went on, not after it.
    assert (
        tg.bot(token).message_seq[(USER, reply[0]["message_id"])]
        < tg.bot(token).message_seq[(ADMIN, reports[1]["message_id"])]
    )
    await second.stop()

    match = BROADCAST_REPORT.search(reports[1]["text"])
    assert match is not None, reports[1]["text"]
    sent, total, blocked, failed, unknown = (int(g or 0) for g in match.groups())
    per_chat = {chat: len(tg.bot_messages(token, chat)) for chat in audience}
    assert max(per_chat.values()) == 1  # no one got it twice
    assert (total, blocked, failed) == (len(audience), 1, 0)
    # A chat left unknown (its request was on its way at the kill) was not sent again: it
    # got the message once if the request had arrived, else not at all.
    assert sent + unknown == len(audience) - 1
    assert sent <= sum(per_chat.values()) <= sent + unknown
    assert unknown <= 1
    assert too_many_requests(tg, token) == 0


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
