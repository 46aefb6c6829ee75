"""The bot's messages against a Bot API that enforces Telegram's flood limits: paced, never
lost, 429s retried after `retry_after` (across processes: the shared budget's own tests)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiogram import Bot

from bot.factory import create_bot
from bot.owner import BotRuntime
from bot.settings import Settings, load_settings
from sandbox import Emulator
from tests.helpers.constants import CONVERSATION_HANDLERS
from tests.helpers.flood import (
    TELEGRAM,
    bot_limits,
    delivered,
    sends,
    span,
    too_many_requests,
)
from tests.helpers.logs import LogWatcher
from tests.helpers.polling import poll_in_background

StartEmulator = Callable[[float], Awaitable[Emulator]]


def settings_for(tg: Emulator, token: str, tmp_path: Path, scale: float) -> Settings:
    values = {
        "BOT_TOKEN": token,
        "HANDLERS_MODULE": CONVERSATION_HANDLERS,  # its echo: one reply per message
        "TELEGRAM_API_URL": tg.base_url,
        "LOCK_DIR": str(tmp_path),
        **bot_limits(scale),
    }
    return load_settings(overrides=values, root=tmp_path, environment=False)


async def send_all(bot: Bot, chat_ids: list[int]) -> None:
    """What many handlers replying at once do: every send at the same time."""
    await asyncio.gather(*(bot.send_message(chat_id, f"hello {chat_id}") for chat_id in chat_ids))


async def test_1000_messages_to_1000_chats_all_arrive_at_the_global_limit_without_a_429(
    limited_emulator: StartEmulator, token: str, tmp_path: Path
) -> None:
    scale = 3  # 90 messages/s in all: the run takes ~11 s instead of ~33 s
    tg = await limited_emulator(scale)
    chats = list(range(1, 1001))
    tg.add_chats(token, chats)
    bot = create_bot(settings_for(tg, token, tmp_path, scale))
    try:
        await send_all(bot, chats)
    finally:
        await bot.session.close()

    received = delivered(tg, token)
    assert sorted(c.params["chat_id"] for c in received) == chats  # each once: 0 lost
    limits = TELEGRAM.scaled(scale)
    allowed = (len(chats) - limits.global_burst) / limits.global_per_second
    took = span(sends(tg, token))
    print(
        f"1000 chats: {took:.2f} s (the limit allows {allowed:.2f} s), "
        f"{too_many_requests(tg, token)} 429s received"
    )
    assert allowed * 0.95 <= took <= allowed * 1.10
    assert too_many_requests(tg, token) == 0


async def test_300_users_at_once_and_one_user_writing_10_times_all_get_their_replies(
    limited_emulator: StartEmulator, token: str, tmp_path: Path
) -> None:
    # The measurement on main: 60 of 310 replies, 250 lost to 429s.
    scale = 4
    tg = await limited_emulator(scale)
    settings = settings_for(tg, token, tmp_path, scale)
    bot = poll_in_background(BotRuntime(settings))
    try:
        await tg.wait_until(lambda: tg.bot(token).long_poll_parked, what="the long poll")
        for user in range(1, 301):
            tg.send_text(token, f"hi from {user}", chat_id=user)
        for n in range(10):
            tg.send_text(token, f"message {n}", chat_id=500)
        await tg.wait_until(
            lambda: len(delivered(tg, token)) >= 310,
            timeout=60,
            what="310 replies",
            have=lambda: len(delivered(tg, token)),
        )
    finally:
        await bot.stop()

    assert all(len(tg.bot_messages(token, user)) == 1 for user in range(1, 301))
    assert [m["text"] for m in tg.bot_messages(token, 500)] == [f"message {n}" for n in range(10)]
    assert too_many_requests(tg, token) == 0


async def test_60_messages_to_one_chat_and_60_to_one_group_are_paced_at_their_limits(
    limited_emulator: StartEmulator, token: str, tmp_path: Path
) -> None:
    scale = 20  # a chat: 20 messages/s; a group: 400 per minute
    tg = await limited_emulator(scale)
    private, group = 42, -100500
    tg.add_chats(token, [private])
    tg.add_chats(token, [group], chat_type="supergroup")
    settings = settings_for(tg, token, tmp_path, scale)
    bot = create_bot(settings)
    try:
        await asyncio.gather(send_all(bot, [private] * 60), send_all(bot, [group] * 60))
    finally:
        await bot.session.close()

    limits = TELEGRAM.scaled(scale)
    for chat_id, rate, burst, bot_burst in [
        (private, limits.chat_per_second, limits.chat_burst, settings.flood_chat_burst),
        (group, limits.group_per_minute / 60, limits.group_burst, settings.flood_group_burst),
    ]:
        calls = sends(tg, token, chat_id)
        assert len(calls) == 60 and all(c.ok for c in calls)
        fastest, paced = (60 - burst) / rate, (60 - bot_burst) / rate
        assert fastest * 0.95 <= span(calls) <= paced * 1.10, (chat_id, span(calls))
    assert too_many_requests(tg, token) == 0
    report = tg.flood_report(token)
    assert {c["chat_id"]: c["last_minute"] for c in report["chats"]} == {private: 60, group: 60}


async def test_a_429_is_retried_once_after_retry_after_and_the_message_arrives_once(
    emulator: Emulator, token: str, tmp_path: Path, logs: LogWatcher
) -> None:
    emulator.add_chats(token, [7])
    emulator.inject_fault(token, "sendMessage", status=429, retry_after=1)
    bot = create_bot(settings_for(emulator, token, tmp_path, 1))
    try:
        sent = await bot.send_message(7, "once")
    finally:
        await bot.session.close()

    assert [m["text"] for m in emulator.bot_messages(token, 7)] == ["once"]
    assert sent.text == "once"
    refused, accepted = sends(emulator, token)
    assert (refused.error_code, accepted.ok) == (429, True)
    assert accepted.started - refused.finished >= 1.0
    assert logs.count("429 Too Many Requests", logging.WARNING) == 1
    assert logs.count("the 429 episode is over") == 1


async def test_methods_that_do_not_count_are_not_delayed_by_a_spent_budget(
    limited_emulator: StartEmulator, token: str, tmp_path: Path
) -> None:
    tg = await limited_emulator(1)
    tg.add_chats(token, [5])
    bot = create_bot(settings_for(tg, token, tmp_path, 1))
    try:
        # Spend the chat's budget: the next message's slot is a second or two away.
        pending = asyncio.gather(*(bot.send_message(5, str(n)) for n in range(4)))
        await tg.wait_api_calls(token, "sendMessage", 2)
        loop = asyncio.get_running_loop()
        began = loop.time()
        await bot.get_me()
        await bot.send_chat_action(5, "typing")
        assert loop.time() - began < 0.5
        await pending
    finally:
        await bot.session.close()
    assert too_many_requests(tg, token) == 0
