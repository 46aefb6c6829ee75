"""The Bot API side: tokens, methods, bodies, message shapes and Telegram's error answers."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, InlineKeyboardButton
from aiogram.types import InlineKeyboardMarkup as Keyboard

from sandbox import Emulator
from tests.helpers.emulator import call

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


def keyboard(*data: str) -> Keyboard:
    return Keyboard(
        inline_keyboard=[[InlineKeyboardButton(text=d.title(), callback_data=d) for d in data]]
    )


async def test_get_me_is_the_bot_whose_id_is_the_tokens_number(bot: Bot, token: str) -> None:
    me = await bot.get_me()
    bot_id = int(token.split(":")[0])
    assert (me.id, me.is_bot, me.username) == (bot_id, True, f"sandbox_{bot_id}_bot")


@pytest.mark.parametrize("bad_token", ["abc", "123", "123:", "x1:abc", "123:a b", "123:a.b"])
async def test_malformed_token_is_401_unauthorized(
    tg: Emulator, http: aiohttp.ClientSession, bad_token: str
) -> None:
    status, body = await call(http, tg, bad_token, "getMe")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})


async def test_unknown_method_and_unknown_path_are_404_not_found(
    tg: Emulator, http: aiohttp.ClientSession, token: str
) -> None:
    expected = {"ok": False, "error_code": 404, "description": "Not Found"}
    assert await call(http, tg, token, "sendTelepathy") == (404, expected)
    async with http.get(f"{tg.base_url}/nothing/here") as response:
        assert (response.status, await response.json()) == (404, expected)


async def test_method_names_are_case_insensitive_and_get_works(
    tg: Emulator, http: aiohttp.ClientSession, token: str
) -> None:
    async with http.get(f"{tg.base_url}/bot{token}/GETME") as response:
        assert response.status == 200
        assert (await response.json())["result"]["id"] == int(token.split(":")[0])
    assert [c.method for c in tg.api_calls(token)] == ["getMe"]


async def test_query_json_form_and_multipart_bodies_give_the_same_params(
    tg: Emulator, http: aiohttp.ClientSession, token: str
) -> None:
    tg.send_text(token, "hi", chat_id=100)
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    url = f"{tg.base_url}/bot{token}/sendMessage"
    as_text = {"chat_id": "100", "text": "x", "reply_markup": json.dumps(markup)}
    await http.post(url, json={"chat_id": 100, "text": "x", "reply_markup": markup})
    await http.post(url, data=as_text)
    form = aiohttp.FormData(as_text)
    form.add_field("ignored_file", b"bytes", filename="f.txt")  # forces multipart
    await http.post(url, data=form)
    await http.get(url, params=as_text)
    calls = tg.api_calls(token, "sendMessage")
    assert [c.ok for c in calls] == [True] * 4
    for sent in calls:
        assert sent.params["chat_id"] == 100
        assert sent.params["reply_markup"] == markup
    assert [m["reply_markup"] for m in tg.bot_messages(token, 100)] == [markup] * 4


async def test_send_message_returns_a_full_message_from_the_bot(
    bot: Bot, tg: Emulator, token: str
) -> None:
    update = tg.send_text(token, "hello", chat_id=100)
    before = int(time.time())
    sent = await bot.send_message(100, "hi there", reply_markup=keyboard("yes", "no"))
    raw = tg.api_calls(token, "sendMessage")[0].result
    assert raw["message_id"] == update["message"]["message_id"] + 1  # ids are per chat
    assert raw["from"] == {
        "id": bot.id,
        "is_bot": True,
        "first_name": "Sandbox Bot",
        "username": f"sandbox_{bot.id}_bot",
    }
    assert raw["chat"] == update["message"]["chat"]
    assert isinstance(raw["date"], int) and raw["date"] >= before
    assert sent.text == "hi there" and sent.reply_markup is not None
    assert sent.reply_markup.model_dump() == keyboard("yes", "no").model_dump()
    other = tg.send_text(token, "me too", chat_id=200)
    assert other["message"]["message_id"] == 1
    assert tg.bot_messages(token, 100) == [raw]


async def test_reply_keyboards_are_not_echoed_and_replies_nest_the_original(
    tg: Emulator, http: aiohttp.ClientSession, token: str
) -> None:
    asked = tg.send_text(token, "question", chat_id=100)["message"]
    status, body = await call(
        http,
        tg,
        token,
        "sendMessage",
        chat_id=100,
        text="answer",
        reply_parameters={"message_id": asked["message_id"]},
        reply_markup={"keyboard": [[{"text": "ok"}]]},
    )
    assert status == 200
    assert "reply_markup" not in body["result"]
    assert body["result"]["reply_to_message"] == asked


async def test_commands_get_bot_command_entities(tg: Emulator, token: str) -> None:
    update = tg.send_command(token, "/start ref42", chat_id=7)
    assert update["message"]["entities"] == [{"offset": 0, "length": 6, "type": "bot_command"}]
    assert update["message"]["chat"]["type"] == "private"
    group = tg.send_command(token, "/help@sandbox_bot", chat_id=-100, user_id=5, chat_type="group")
    assert group["message"]["entities"][0]["length"] == len("/help@sandbox_bot")
    assert group["message"]["from"]["id"] == 5 and group["message"]["chat"]["type"] == "group"


async def test_html_parse_mode_turns_tags_into_entities(bot: Bot, tg: Emulator, token: str) -> None:
    tg.send_text(token, "hi", chat_id=100)
    sent = await bot.send_message(
        100, "<b>Bold</b> and <a href='https://x.org'>link</a> ✓ <i>it</i>", parse_mode="HTML"
    )
    assert sent.text == "Bold and link ✓ it"
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [
        ("bold", 0, 4),
        ("text_link", 9, 4),
        ("italic", 16, 2),
    ]
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(100, "<b>open", parse_mode="HTML")


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"chat_id": 999, "text": "x"}, "Bad Request: chat not found"),
        ({"chat_id": "@nobody", "text": "x"}, "Bad Request: chat not found"),
        ({"text": "x"}, "Bad Request: chat_id is empty"),
        ({"chat_id": 100, "text": ""}, "Bad Request: message text is empty"),
        ({"chat_id": 100, "text": "   "}, "Bad Request: message text is empty"),
        ({"chat_id": 100}, "Bad Request: message text is empty"),
        ({"chat_id": 100, "text": "x" * 4097}, "Bad Request: message is too long"),
        (
            {"chat_id": 100, "text": "x", "reply_parameters": {"message_id": 99}},
            "Bad Request: message to be replied not found",
        ),
    ],
)
async def test_send_message_errors(
    tg: Emulator,
    http: aiohttp.ClientSession,
    token: str,
    params: dict[str, object],
    description: str,
) -> None:
    tg.send_text(token, "hi", chat_id=100)
    status, body = await call(http, tg, token, "sendMessage", **params)
    assert (status, body) == (400, {"ok": False, "error_code": 400, "description": description})


async def test_edit_text_applies_and_an_identical_edit_is_not_modified(
    bot: Bot, tg: Emulator, token: str
) -> None:
    tg.send_text(token, "hi", chat_id=100)
    sent = await bot.send_message(100, "v1", reply_markup=keyboard("a"))
    edited = await bot.edit_message_text(
        "v2", chat_id=100, message_id=sent.message_id, reply_markup=keyboard("a")
    )
    assert not isinstance(edited, bool) and edited.edit_date is not None
    [shown] = tg.bot_messages(token, 100)
    assert (shown["text"], shown["reply_markup"]["inline_keyboard"][0][0]["callback_data"]) == (
        "v2",
        "a",
    )
    with pytest.raises(TelegramBadRequest) as error:
        await bot.edit_message_text(
            "v2", chat_id=100, message_id=sent.message_id, reply_markup=keyboard("a")
        )
    assert error.value.message == NOT_MODIFIED
    # Without reply_markup Telegram drops the keyboard, so this is a change.
    await bot.edit_message_text("v2", chat_id=100, message_id=sent.message_id)
    assert "reply_markup" not in tg.bot_messages(token, 100)[0]


async def test_edit_and_delete_errors(
    tg: Emulator, http: aiohttp.ClientSession, token: str
) -> None:
    user_message = tg.send_text(token, "hi", chat_id=100)["message"]
    cases = [
        (
            "editMessageText",
            {"chat_id": 100, "message_id": 42, "text": "x"},
            "Bad Request: message to edit not found",
        ),
        (
            "editMessageText",
            {"chat_id": 100, "message_id": user_message["message_id"], "text": "x"},
            "Bad Request: message can't be edited",
        ),
        (
            "editMessageText",
            {"chat_id": 5, "message_id": 1, "text": "x"},
            "Bad Request: chat not found",
        ),
        (
            "editMessageReplyMarkup",
            {"chat_id": 100, "message_id": 42},
            "Bad Request: message to edit not found",
        ),
        (
            "deleteMessage",
            {"chat_id": 100, "message_id": 42},
            "Bad Request: message to delete not found",
        ),
    ]
    for method, params, description in cases:
        assert await call(http, tg, token, method, **params) == (
            400,
            {"ok": False, "error_code": 400, "description": description},
        ), method


async def test_reply_markup_edit_and_delete_show_in_bot_messages(
    bot: Bot, tg: Emulator, token: str
) -> None:
    tg.send_text(token, "hi", chat_id=100)
    first = await bot.send_message(100, "one", reply_markup=keyboard("a"))
    second = await bot.send_message(100, "two")
    await bot.edit_message_reply_markup(
        chat_id=100, message_id=first.message_id, reply_markup=keyboard("b")
    )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=100, message_id=first.message_id, reply_markup=keyboard("b")
        )
    assert await bot.delete_message(100, second.message_id) is True
    [left] = tg.bot_messages(token, 100)
    assert left["message_id"] == first.message_id
    assert left["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "b"


async def test_callback_query_can_be_answered_once(bot: Bot, tg: Emulator, token: str) -> None:
    tg.send_text(token, "hi", chat_id=100)
    await bot.send_message(100, "pick", reply_markup=keyboard("yes"))
    update = tg.press_button(token, tg.bot_messages(token, 100)[0], "yes")
    query = update["callback_query"]
    assert (query["data"], query["from"]["id"], query["message"]["text"]) == ("yes", 100, "pick")
    assert query["chat_instance"]
    assert await bot.answer_callback_query(query["id"], text="ok") is True
    with pytest.raises(TelegramBadRequest, match="query is too old and response timeout expired"):
        await bot.answer_callback_query(query["id"])
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query("123")


async def test_pressing_a_button_the_message_does_not_have_is_refused(
    bot: Bot, tg: Emulator, token: str
) -> None:
    tg.send_text(token, "hi", chat_id=100)
    await bot.send_message(100, "pick", reply_markup=keyboard("yes"))
    with pytest.raises(ValueError, match="no button with callback_data 'no'"):
        tg.press_button(token, tg.bot_messages(token, 100)[0], "no")


async def test_users_can_edit_their_messages(tg: Emulator, token: str) -> None:
    sent = tg.send_text(token, "typo", chat_id=100)["message"]
    update = tg.edit_user_message(token, 100, sent["message_id"], "fixed /start")
    edited = update["edited_message"]
    assert (edited["text"], edited["message_id"]) == ("fixed /start", sent["message_id"])
    assert "edit_date" in edited and edited["entities"][0]["type"] == "bot_command"


async def test_chat_action_commands_close_and_log_out(bot: Bot, tg: Emulator, token: str) -> None:
    tg.send_text(token, "hi", chat_id=100)
    assert await bot.send_chat_action(100, "typing") is True
    with pytest.raises(TelegramBadRequest, match="wrong parameter action in request"):
        await bot.send_chat_action(100, "dancing")
    commands = [BotCommand(command="start", description="Start the bot")]
    scope = BotCommandScopeAllPrivateChats()
    assert await bot.set_my_commands(commands, scope=scope) is True
    assert [c.command for c in await bot.get_my_commands(scope=scope)] == ["start"]
    assert await bot.get_my_commands() == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])
    assert await bot.close() is True
    assert await bot.log_out() is True
    chat = await bot.get_chat(100)
    assert (chat.id, chat.type) == (100, "private")
