"""Acting as users: messages, commands, button presses and edits that become updates.

A chat becomes known to the bot (so `sendMessage` to it works) once a user writes in it,
as with the real Bot API, where a bot cannot start a conversation.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from sandbox.shapes import detect_entities, human_user, make_chat, message
from sandbox.state import BotState

JSON = dict[str, Any]
_query_ids = itertools.count(1)


def _sender(chat_id: int, chat_type: str, user_id: int | None) -> int:
    if user_id is not None:
        return user_id
    # In a private chat the chat id is the user's id; in a group someone has to speak.
    return chat_id if chat_type == "private" else 100


def send_text(
    bot: BotState,
    text: str,
    *,
    chat_id: int = 100,
    user_id: int | None = None,
    chat_type: str = "private",
    first_name: str | None = None,
    username: str | None = None,
    chat_title: str | None = None,
    language_code: str = "en",
) -> JSON:
    """A user writes `text` in a chat; returns the queued `message` update."""
    if not text:
        raise ValueError("sandbox: a user cannot send an empty message")
    user = human_user(_sender(chat_id, chat_type, user_id), first_name, username, language_code)
    chat = bot.chats.get(chat_id) or make_chat(chat_id, chat_type, user, chat_title)
    bot.chats[chat_id] = chat
    sent = message(
        bot.new_message_id(chat_id), user, chat, int(time.time()), text, detect_entities(text)
    )
    bot.store_message(sent)
    return bot.enqueue("message", sent)


def add_chats(bot: BotState, chat_ids: list[int], chat_type: str = "private") -> None:
    """Chats the bot may write to, as if their users wrote long ago (no update is pending)."""
    for chat_id in chat_ids:
        user = human_user(_sender(chat_id, chat_type, None), None, None)
        bot.chats.setdefault(chat_id, make_chat(chat_id, chat_type, user, None))
    bot.changed()


def send_command(
    bot: BotState,
    command: str,
    *,
    chat_id: int = 100,
    user_id: int | None = None,
    chat_type: str = "private",
    first_name: str | None = None,
    username: str | None = None,
    chat_title: str | None = None,
    language_code: str = "en",
) -> JSON:
    """A user sends a command such as "/start" or "/start ref42" (bot_command entity included)."""
    if not command.startswith("/"):
        raise ValueError(f"sandbox: a command starts with '/', got {command!r}")
    return send_text(
        bot,
        command,
        chat_id=chat_id,
        user_id=user_id,
        chat_type=chat_type,
        first_name=first_name,
        username=username,
        chat_title=chat_title,
        language_code=language_code,
    )


def press_button(
    bot: BotState, bot_message: JSON, data: str, *, user_id: int | None = None
) -> JSON:
    """A user presses the inline button with `callback_data` == `data` on a bot message.

    The button must exist on the message as it is now (edits applied), as in a real client.
    """
    chat_id = bot_message["chat"]["id"]
    current = bot.find_message(chat_id, bot_message["message_id"])
    if current is None:
        raise ValueError(
            f"sandbox: message {bot_message['message_id']} in chat {chat_id} no longer exists"
        )
    buttons = [
        button
        for row in current.get("reply_markup", {}).get("inline_keyboard", [])
        for button in row
    ]
    if not any(button.get("callback_data") == data for button in buttons):
        offered = [button.get("callback_data") for button in buttons]
        raise ValueError(
            f"sandbox: message {current['message_id']} has no button with callback_data "
            f"{data!r}; it offers {offered}"
        )
    query_id = str(bot.bot_id * 1_000_000 + next(_query_ids))
    bot.callback_queries[query_id] = None
    user = _known_user(bot, chat_id, _sender(chat_id, current["chat"]["type"], user_id))
    query: JSON = {
        "id": query_id,
        "from": user,
        "message": current,
        # Stable per chat, as Telegram's is; bots use it to group games and the like.
        "chat_instance": str((chat_id * 7919 + bot.bot_id) % 9_000_000_000_000_000_000),
        "data": data,
    }
    return bot.enqueue("callback_query", query)


def _known_user(bot: BotState, chat_id: int, user_id: int) -> JSON:
    """The user as they last wrote in the chat (their name), or a default one."""
    for known in reversed(bot.messages.get(chat_id, {}).values()):
        if known["from"]["id"] == user_id:
            return dict(known["from"])
    return human_user(user_id)


def edit_user_message(bot: BotState, chat_id: int, message_id: int, text: str) -> JSON:
    """A user edits one of their messages; returns the queued `edited_message` update."""
    current = bot.find_message(chat_id, message_id)
    if current is None or current["from"]["is_bot"]:
        raise ValueError(f"sandbox: no user message {message_id} in chat {chat_id}")
    edited = message(
        message_id, current["from"], current["chat"], current["date"], text, detect_entities(text)
    )
    edited["edit_date"] = int(time.time())
    bot.store_message(edited)
    return bot.enqueue("edited_message", edited)


def block_bot(bot: BotState, user_id: int, blocked: bool) -> None:
    """A user blocks the bot (or unblocks it); writing to them is then a 403."""
    if blocked:
        bot.blocked_by.add(user_id)
    else:
        bot.blocked_by.discard(user_id)
    bot.changed()
