"""What a Telegram client shows besides the text: MarkdownV2 formatting and its 400s, reply
keyboards, button answers, a user who blocked the bot; and records that stay bounded."""

from __future__ import annotations

import aiohttp
import pytest
from aiogram import Bot
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from sandbox import Emulator
from tests.helpers.emulator import WebhookReceiver, call

CANT_PARSE = "Bad Request: can't parse entities: "
RESERVED = CANT_PARSE + "Character '{}' is reserved and must be escaped with the preceding '\\'"
BLOCKED = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}


async def test_markdown_v2_becomes_entities_in_utf16_units(
    bot: Bot, tg: Emulator, token: str
) -> None:
    tg.send_text(token, "hi", chat_id=100)
    sent = await bot.send_message(
        100,
        "*bold* 🏟 _it_ __under__ ~gone~ ||hidden|| `x` [site](example.org) 1\\.0",
        parse_mode="MarkdownV2",
    )
    assert sent.text == "bold 🏟 it under gone hidden x site 1.0"
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [
        ("bold", 0, 4),
        ("italic", 8, 2),  # the emoji is two UTF-16 code units
        ("underline", 11, 5),
        ("strikethrough", 17, 4),
        ("spoiler", 22, 6),
        ("code", 29, 1),
        ("text_link", 31, 4),
    ]
    assert sent.entities is not None and sent.entities[-1].url == "http://example.org"

    block = await bot.send_message(100, "```python\nprint(1)\n```", parse_mode="MarkdownV2")
    assert block.text == "print(1)"
    assert block.entities is not None and block.entities[0].language == "python"


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("Version 1.0", RESERVED.format(".")),
        ("a-b", RESERVED.format("-")),
        ("*never closed", CANT_PARSE + "Can't find end of Bold entity at byte offset 0"),
        ("ok _it", CANT_PARSE + "Can't find end of Italic entity at byte offset 3"),
        ("[x](example.org", CANT_PARSE + "Can't find end of a URL at byte offset 4"),
    ],
)
async def test_markdown_v2_mistakes_are_telegrams_400(
    tg: Emulator, http: aiohttp.ClientSession, token: str, text: str, description: str
) -> None:
    tg.send_text(token, "hi", chat_id=100)
    status, body = await call(
        http, tg, token, "sendMessage", chat_id=100, text=text, parse_mode="MarkdownV2"
    )
    assert (status, body["description"]) == (400, description)


async def test_a_reply_keyboard_stays_with_the_chat_until_removed(
    bot: Bot, tg: Emulator, token: str
) -> None:
    tg.send_text(token, "hi", chat_id=100)
    keys = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Yes"), KeyboardButton(text="No")]])
    await bot.send_message(100, "Sure?", reply_markup=keys)
    await bot.send_message(100, "No keyboard in this one")
    assert tg.bot(token).reply_keyboards[100]["keyboard"] == [[{"text": "Yes"}, {"text": "No"}]]

    await bot.send_message(100, "Done.", reply_markup=ReplyKeyboardRemove())
    assert 100 not in tg.bot(token).reply_keyboards


async def test_a_button_answer_is_kept_for_the_client_to_show(
    bot: Bot, tg: Emulator, token: str
) -> None:
    tg.send_text(token, "hi", chat_id=100)
    buttons = [[InlineKeyboardButton(text="A", callback_data="a")]]
    menu = await bot.send_message(
        100, "Pick", reply_markup=InlineKeyboardMarkup(inline_keyboard=buttons)
    )
    query = tg.press_button(token, menu.model_dump(), "a")["callback_query"]
    assert tg.bot(token).callback_queries[query["id"]] is None

    await bot.answer_callback_query(query["id"], text="Picked A", show_alert=True)
    assert tg.bot(token).callback_queries[query["id"]] == {"text": "Picked A", "show_alert": True}


async def test_writing_to_a_user_who_blocked_the_bot_is_403(
    tg: Emulator, http: aiohttp.ClientSession, token: str
) -> None:
    tg.send_text(token, "hi", chat_id=100)
    tg.block_bot(token, 100)
    assert await call(http, tg, token, "sendMessage", chat_id=100, text="x") == (403, BLOCKED)
    typing = await call(http, tg, token, "sendChatAction", chat_id=100, action="typing")
    assert typing == (403, BLOCKED)
    tg.send_text(token, "still arrives", chat_id=100)  # their own messages still reach the bot
    assert len(tg.pending_updates(token)) == 2

    tg.block_bot(token, 100, blocked=False)
    status, _ = await call(http, tg, token, "sendMessage", chat_id=100, text="x")
    assert status == 200


async def test_calls_and_deliveries_keep_only_the_most_recent(
    http: aiohttp.ClientSession, token: str, receiver: WebhookReceiver
) -> None:
    async with Emulator(max_records=5, retry_first_delay=0.05, webhook_change_interval=0) as tg:
        for _ in range(8):
            await call(http, tg, token, "getMe")
        assert len(tg.api_calls(token)) == 5
        numbers = [c.seq for c in tg.api_calls(token)]
        assert numbers == sorted(numbers) and numbers[0] > 3  # the oldest were forgotten

        tg.set_webhook_directly(token, receiver.url)
        for n in range(7):
            tg.send_text(token, f"update {n}", chat_id=100 + n)
        await receiver.wait_received(7)
        await tg.wait_until(lambda: tg.webhook(token).pending_update_count == 0)
        assert [d.update_id for d in tg.deliveries(token)] == [3, 4, 5, 6, 7]
