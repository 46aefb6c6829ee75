"""Incoming throttling against the emulator: a user who floods the bot gets one notice and at
most THROTTLE_LIMIT updates handled, and the other users' replies come as fast as without
the flooder."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command
from aiogram.types import Message, Update

from bot.owner import BotRuntime
from bot.runtime.observability.metrics import exposition
from bot.runtime.updates.throttle import DEFAULT_NOTICE, Limit, LocalCounter, throttle_updates
from bot.settings import Settings, load_settings
from sandbox import Emulator
from tests.helpers.constants import CONVERSATION_HANDLERS
from tests.helpers.flood import StartEmulator, bot_limits, sends
from tests.helpers.metrics import Scrape
from tests.helpers.polling import poll_in_background

LIMIT = 10
FLOODER = 900
FLOOD = 200  # messages, in FLOOD_SECONDS
FLOOD_SECONDS = 2.0
SCALE = 10  # Telegram's limits ten times faster: the flooder's 10 echoes take ~1 s, not 9


def throttled_settings(tg: Emulator, token: str, tmp_path: Path) -> Settings:
    values = {
        "BOT_TOKEN": token,
        "HANDLERS_MODULE": CONVERSATION_HANDLERS,  # its echo: one reply per message
        "TELEGRAM_API_URL": tg.base_url,
        "LOCK_DIR": str(tmp_path),
        "THROTTLE_LIMIT": str(LIMIT),
        "THROTTLE_WINDOW": "10",
        **bot_limits(SCALE),
    }
    return load_settings(overrides=values, root=tmp_path, environment=False)


def outcome_count(outcome: str) -> float:
    scrape = Scrape.parse(exposition().decode())
    return scrape.value("telegram_bot_updates_total", type="message", outcome=outcome)


def not_handled_count() -> float:
    """Messages dropped and counted: by throttling, or (polling) past the flooding chat's
    backlog, which polling drops before throttling sees them (docs/flood-control.md)."""
    return outcome_count("throttled") + outcome_count("dropped")


async def others_write_once(tg: Emulator, token: str, users: range) -> list[float]:
    """Each user writes once, all at the same moment; seconds until each one's reply."""
    sent_at = time.monotonic()
    for user in users:
        tg.send_text(token, f"hi from {user}", chat_id=user)
    await tg.wait_until(
        lambda: all(tg.bot_messages(token, user) for user in users), what="the users' replies"
    )
    return sorted(sends(tg, token, user)[0].finished - sent_at for user in users)


async def flood(tg: Emulator, token: str) -> None:
    """FLOOD messages from one user, evenly in FLOOD_SECONDS (as a script would send them)."""
    for n in range(FLOOD):
        tg.send_text(token, f"spam {n}", chat_id=FLOODER)
        await asyncio.sleep(FLOOD_SECONDS / FLOOD)


async def test_a_flooder_gets_one_notice_and_the_limit_while_20_others_are_not_delayed(
    limited_emulator: StartEmulator, token: str, tmp_path: Path
) -> None:
    tg = await limited_emulator(SCALE)
    settings = throttled_settings(tg, token, tmp_path)
    bot = poll_in_background(BotRuntime(settings))
    throttled_before, not_handled_before = outcome_count("throttled"), not_handled_count()
    try:
        await tg.wait_until(lambda: tg.bot(token).long_poll_parked, what="the long poll")
        alone = await others_write_once(tg, token, range(1, 21))
        flooding = asyncio.create_task(flood(tg, token))
        await asyncio.sleep(FLOOD_SECONDS / 2)  # halfway through the flood
        beside = await others_write_once(tg, token, range(21, 41))
        await flooding
        # Every one of the flood's messages is accounted for: answered, or dropped and counted.
        await tg.wait_until(
            lambda: (
                len(tg.bot_messages(token, FLOODER)) - 1 + not_handled_count() - not_handled_before
                >= FLOOD
            ),
            timeout=30,
            what="the flood handled or dropped",
        )
    finally:
        await bot.stop()

    texts = [m["text"] for m in tg.bot_messages(token, FLOODER)]
    echoes = [text for text in texts if text.startswith("spam")]
    print(f"the 20 alone: {alone[-1]:.3f} s; beside the flood: {beside[-1]:.3f} s (slowest)")
    assert texts.count(DEFAULT_NOTICE) == 1
    assert echoes == [f"spam {n}" for n in range(LIMIT)]  # the first LIMIT, in order
    assert not_handled_count() - not_handled_before == FLOOD - LIMIT
    assert outcome_count("throttled") > throttled_before  # throttling dropped some itself
    # No added delay: the slowest reply (the p99 of 20) within 10% of the run without the
    # flooder (plus one long poll's turn, which either run may or may not have waited for).
    assert beside[-1] <= alone[-1] * 1.10 + 0.1


def flagged_dispatcher(exempt: frozenset[int] = frozenset()) -> Dispatcher:
    """Echo, `/report` (once a minute by its flag) and `/ping` (not counted, by its flag),
    with a user limit of 3 per minute."""
    router = Router()

    async def reply(message: Message) -> None:
        await message.answer(f"got {message.text}")

    router.message.register(reply, Command("report"), flags={"throttle": ONCE_A_MINUTE})
    router.message.register(reply, Command("ping"), flags={"throttle": False})
    router.message.register(reply)
    dispatcher = Dispatcher(throttle_exempt=exempt)
    dispatcher.include_router(router)
    throttle_updates(dispatcher, LocalCounter(), Limit(3, 60))
    return dispatcher


ONCE_A_MINUTE = {"limit": 1, "window": 60}


async def send(tg: Emulator, token: str, dispatcher: Dispatcher, texts: list[str]) -> list[str]:
    """Each text from user 5, handled in turn; the bot's messages in that chat."""
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)))
    try:
        for text in texts:
            update = Update.model_validate(
                tg.send_text(token, text, chat_id=5), context={"bot": bot}
            )
            await dispatcher.feed_update(bot, update)
    finally:
        await bot.session.close()
    return [m["text"] for m in tg.bot_messages(token, 5)]


async def test_the_bots_admins_are_never_throttled(emulator: Emulator, token: str) -> None:
    texts = await send(emulator, token, flagged_dispatcher(frozenset({5})), ["a"] * 8)
    assert texts == ["got a"] * 8


async def test_a_handlers_flag_gives_it_a_limit_of_its_own(emulator: Emulator, token: str) -> None:
    texts = await send(emulator, token, flagged_dispatcher(), ["/report", "/report", "/report"])
    assert texts == ["got /report", DEFAULT_NOTICE]


async def test_updates_of_a_handler_flagged_false_do_not_count(
    emulator: Emulator, token: str
) -> None:
    texts = await send(emulator, token, flagged_dispatcher(), ["/ping"] * 6 + ["a"] * 4)
    assert texts == ["got /ping"] * 6 + ["got a"] * 3 + [DEFAULT_NOTICE]


def test_a_malformed_throttle_flag_is_refused_at_start_naming_the_handler() -> None:
    router = Router()

    async def report(message: Message) -> None: ...

    router.message.register(report, flags={"throttle": 3})
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    with pytest.raises(ValueError, match=r"throttle flag of .*report is 3"):
        throttle_updates(dispatcher, LocalCounter(), Limit(3, 60))
