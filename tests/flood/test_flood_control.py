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
from bot.runtime.outgoing.flood import FloodLimits as BotBudgets
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
# 429s a run may meet (the bar): the pacing holds under both readings, but the test
# machine's own stalls can bunch two messages the bot sent apart.
MOST_429S = 2


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


async def test_300_messages_to_300_chats_all_arrive_at_the_global_limit_without_a_429(
    limited_emulator: StartEmulator, token: str, tmp_path: Path
) -> None:
    # Telegram's own limits (~10 s): a faster scale would shrink the windows and not the
    # jitter that the bot's margin absorbs. `python -m bench.broadcast` sends to 1,000 chats.
    scale = 1
    tg = await limited_emulator(scale)
    chats = list(range(1, 301))
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
        f"{len(chats)} chats: {took:.2f} s (the limit allows {allowed:.2f} s), "
        f"{too_many_requests(tg, token)} 429s received"
    )
    # The limit's rate at 0.95 or better (evenly spaced: no use of the first burst).
    assert allowed * 0.95 <= took <= len(chats) / limits.global_per_second / 0.95
    # Under the sliding window too (a second's 30 counted however they came): jitter on a
    # loaded test machine may cost a 429 or two, as the issue allows; never a lost message.
    assert too_many_requests(tg, token) <= MOST_429S


async def test_300_users_at_once_and_one_user_writing_10_times_all_get_their_replies(
    limited_emulator: StartEmulator, token: str, tmp_path: Path
) -> None:
    # The measurement on main: 60 of 310 replies, 250 lost to 429s; then, under a
    # sliding window, 310 after 18 429s in 18.2 s. At Telegram's own limits: ~10.5 s.
    scale = 1
    tg = await limited_emulator(scale)
    settings = settings_for(tg, token, tmp_path, scale)
    bot = poll_in_background(BotRuntime(settings))
    try:
        await tg.wait_until(lambda: tg.bot(token).long_poll_parked, what="the long poll")
        for user in range(1, 301):
            tg.send_text(token, f"hi from {user}", chat_id=user)
        for n in range(10):
            tg.send_text(token, f"message {n}", chat_id=500)
        loop = asyncio.get_running_loop()
        began = loop.time()
        await tg.wait_until(
            lambda: len(delivered(tg, token)) >= 310,
            timeout=60,
            what="310 replies",
            have=lambda: len(delivered(tg, token)),
        )
        took = loop.time() - began
    finally:
        await bot.stop()

    print(f"310 replies in {took:.2f} s, {too_many_requests(tg, token)} 429s received")
    assert all(len(tg.bot_messages(token, user)) == 1 for user in range(1, 301))
    assert [m["text"] for m in tg.bot_messages(token, 500)] == [f"message {n}" for n in range(10)]
    assert too_many_requests(tg, token) <= MOST_429S
    # Not yet the issue's 11.5 s (~17-19 s here): the 300 chats' handlers hold the poller's
    # 100 slots while their replies wait for the global pace, so user 500's first update
    # starts only ~7 s in, and its 10 replies then go 1 a second.


async def test_20_messages_to_one_chat_and_8_to_one_group_are_paced_at_their_limits(
    limited_emulator: StartEmulator, token: str, tmp_path: Path
) -> None:
    # A chat: 5 messages/s, a group: 100 per minute (~4 s). Faster would shrink the windows
    # below what jitter on a loaded machine leaves intact.
    scale = 5
    tg = await limited_emulator(scale)
    private, group = 42, -100500
    tg.add_chats(token, [private])
    tg.add_chats(token, [group], chat_type="supergroup")
    settings = settings_for(tg, token, tmp_path, scale)
    bot = create_bot(settings)
    try:
        await asyncio.gather(send_all(bot, [private] * 20), send_all(bot, [group] * 8))
    finally:
        await bot.session.close()

    limits = TELEGRAM.scaled(scale)
    budgets = BotBudgets(settings)
    for chat_id, count, rate, burst in [
        (private, 20, limits.chat_per_second, limits.chat_burst),
        (group, 8, limits.group_per_minute / 60, limits.group_burst),
    ]:
        calls = [c for c in sends(tg, token, chat_id) if c.ok]
        assert len(calls) == count
        own = budgets.budgets(chat_id)[1]  # the bot's window for this chat
        fastest, paced = (count - burst) / rate, (count / own.count - 1) * own.window
        assert fastest * 0.95 <= span(calls) <= paced * 1.10, (chat_id, span(calls))
    assert too_many_requests(tg, token) <= MOST_429S
    report = tg.flood_report(token)
    assert {c["chat_id"]: c["last_minute"] for c in report["chats"]} == {private: 20, group: 8}


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
