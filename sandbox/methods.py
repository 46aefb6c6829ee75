"""Bot API methods about messages, chats and commands (the bot's side of a conversation)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from sandbox.errors import BLOCKED_BY_USER, NOT_MODIFIED, BotApiError, bad_request
from sandbox.params import get_bool, get_int, get_json, get_str
from sandbox.shapes import bot_user, format_text, get_me, is_inline_keyboard, message, utf16_len
from sandbox.state import BotState

JSON = dict[str, Any]
MAX_TEXT_LENGTH = 4096
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")


def _text(params: JSON) -> tuple[str, list[JSON]]:
    text, entities = format_text(
        get_str(params, "text"), get_str(params, "parse_mode") or None, get_json(params, "entities")
    )
    if utf16_len(text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return text, entities


def _reply_markup(params: JSON) -> Any:
    markup = get_json(params, "reply_markup")
    if "reply_markup" in params and not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


def send_message(bot: BotState, params: JSON) -> JSON:
    """sendMessage: a full `Message` from the bot, numbered after the chat's last message."""
    # The server builds the content before it looks the chat up, so text errors come first.
    text, entities = _text(params)
    markup = _reply_markup(params)
    chat = _chat_to_write(bot, params)
    reply_to = _replied_message(bot, chat["id"], params)
    sent = message(
        bot.new_message_id(chat["id"]),
        bot_user(bot.bot_id),
        chat,
        int(time.time()),
        text,
        entities,
        markup,
        reply_to,
    )
    bot.store_message(sent)
    _remember_reply_keyboard(bot, chat["id"], markup)
    return sent


def _chat_to_write(bot: BotState, params: JSON) -> JSON:
    chat = bot.chat(params.get("chat_id"))
    if chat["type"] == "private" and chat["id"] in bot.blocked_by:
        raise BotApiError(403, BLOCKED_BY_USER)
    return chat


def _remember_reply_keyboard(bot: BotState, chat_id: int, markup: Any) -> None:
    # The client shows a reply keyboard until another one replaces it or one removes it.
    if not isinstance(markup, dict):
        return
    if isinstance(markup.get("keyboard"), list):
        bot.reply_keyboards[chat_id] = markup
    elif markup.get("remove_keyboard"):
        bot.reply_keyboards.pop(chat_id, None)


def _replied_message(bot: BotState, chat_id: int, params: JSON) -> JSON | None:
    reply = get_json(params, "reply_parameters")
    if isinstance(reply, dict):
        message_id = get_int(reply, "message_id")
        allow_missing = bool(reply.get("allow_sending_without_reply"))
    else:
        message_id = get_int(params, "reply_to_message_id")
        allow_missing = bool(params.get("allow_sending_without_reply"))
    if message_id == 0:
        return None
    replied = bot.find_message(chat_id, message_id)
    if replied is None:
        if allow_missing:
            return None
        raise bad_request("message to be replied not found")
    # Telegram nests one level only.
    return {k: v for k, v in replied.items() if k != "reply_to_message"}


def _bot_message(bot: BotState, params: JSON, action: str) -> JSON:
    if "inline_message_id" in params:
        raise bad_request(f"message to {action} not found")  # inline messages are not modelled
    chat = bot.chat(params.get("chat_id"))
    found = bot.find_message(chat["id"], get_int(params, "message_id"))
    if found is None:
        raise bad_request(f"message to {action} not found")
    return found


def edit_message_text(bot: BotState, params: JSON) -> JSON:
    """editMessageText; like Telegram, an edit without reply_markup removes the keyboard."""
    text, entities = _text(params)
    markup = _reply_markup(params)
    current = _bot_message(bot, params, "edit")
    if current["from"]["id"] != bot.bot_id:
        raise bad_request("message can't be edited")
    if (
        text == current.get("text")
        and entities == current.get("entities", [])
        and _same_markup(markup, current)
    ):
        raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
    return _store_edit(bot, current, text=text, entities=entities, markup=markup)


def edit_message_reply_markup(bot: BotState, params: JSON) -> JSON:
    """editMessageReplyMarkup: replace or (without reply_markup) remove the inline keyboard."""
    markup = _reply_markup(params)
    current = _bot_message(bot, params, "edit")
    if current["from"]["id"] != bot.bot_id:
        raise bad_request("message can't be edited")
    if _same_markup(markup, current):
        raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
    return _store_edit(
        bot, current, text=current["text"], entities=current.get("entities", []), markup=markup
    )


def _same_markup(markup: Any, current: JSON) -> bool:
    new = markup if is_inline_keyboard(markup) else None
    return new == current.get("reply_markup")


def _store_edit(
    bot: BotState, current: JSON, *, text: str, entities: list[JSON], markup: Any
) -> JSON:
    edited = message(
        current["message_id"],
        current["from"],
        current["chat"],
        current["date"],
        text,
        entities,
        markup,
        current.get("reply_to_message"),
    )
    edited["edit_date"] = int(time.time())
    bot.store_message(edited)
    return edited


def delete_message(bot: BotState, params: JSON) -> bool:
    """deleteMessage: the message disappears from the chat (and from `bot_messages`)."""
    found = _bot_message(bot, params, "delete")
    bot.delete_message(found["chat"]["id"], found["message_id"])
    return True


def answer_callback_query(bot: BotState, params: JSON) -> bool:
    """answerCallbackQuery: once per query id; an unknown or answered id is a 400."""
    query_id = get_str(params, "callback_query_id")
    if query_id not in bot.callback_queries or bot.callback_queries[query_id] is not None:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    bot.callback_queries[query_id] = {
        "text": get_str(params, "text"),
        "show_alert": get_bool(params, "show_alert"),
    }
    bot.changed()
    return True


def send_chat_action(bot: BotState, params: JSON) -> bool:
    """sendChatAction with Telegram's list of actions."""
    _chat_to_write(bot, params)
    if get_str(params, "action") not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    return True


def _commands_key(params: JSON) -> str:
    scope = get_json(params, "scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True) + "|" + get_str(params, "language_code")


def set_my_commands(bot: BotState, params: JSON) -> bool:
    """setMyCommands for a scope and language."""
    commands = get_json(params, "commands")
    if commands is None:
        commands = []
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    stored: list[JSON] = []
    for item in commands:
        if not isinstance(item, dict):
            raise bad_request("can't parse commands JSON object")
        command, description = get_str(item, "command"), get_str(item, "description").strip()
        if not _COMMAND.fullmatch(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        stored.append({"command": command, "description": description})
    bot.commands[_commands_key(params)] = stored
    bot.changed()
    return True


def get_my_commands(bot: BotState, params: JSON) -> list[JSON]:
    """getMyCommands for a scope and language ([] when none were set)."""
    return list(bot.commands.get(_commands_key(params), []))


def delete_my_commands(bot: BotState, params: JSON) -> bool:
    """deleteMyCommands for a scope and language."""
    bot.commands.pop(_commands_key(params), None)
    bot.changed()
    return True


def get_chat(bot: BotState, params: JSON) -> JSON:
    """getChat: a `ChatFullInfo` of a known chat."""
    return {
        **bot.chat(params.get("chat_id")),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


def get_me_method(bot: BotState, params: JSON) -> JSON:
    """getMe: the bot whose id is the token's number."""
    return get_me(bot.bot_id)


def always_true(bot: BotState, params: JSON) -> bool:
    """close and logOut: accepted; the sandbox has no cloud session to end."""
    return True
