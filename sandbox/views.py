"""What the chat page shows and a failing test prints: a chat's timeline, the Bot API traffic,
the webhook. Plain JSON built from a bot's state; nothing here changes it."""

from __future__ import annotations

from typing import Any

from sandbox.records import ApiCall
from sandbox.state import BotState

JSON = dict[str, Any]
# Delivery attempts shown in the webhook panel.
RECENT_DELIVERIES = 20


def call_chat(call: ApiCall) -> int | None:
    """The chat a call was about (its `chat_id`), if it names one."""
    chat_id = call.params.get("chat_id")
    return chat_id if isinstance(chat_id, int) else None


def timeline(bot: BotState, chat_id: int) -> list[JSON]:
    """A chat as its client shows it, in order: the messages (edits applied, deleted ones
    gone) and the bot's calls about the chat that failed (`kind` "message" or "error")."""
    items: list[JSON] = [
        {"kind": "message", "seq": bot.message_seq.get((chat_id, message_id), 0), **message}
        for message_id, message in bot.messages.get(chat_id, {}).items()
    ]
    items += [
        {"kind": "error", **call_view(call)}
        for call in bot.calls
        if not call.ok and call_chat(call) == chat_id
    ]
    return sorted(items, key=lambda item: int(item["seq"]))


def call_view(call: ApiCall) -> JSON:
    """One Bot API call for the traffic panel."""
    return {
        "seq": call.seq,
        "method": call.method,
        "params": call.params,
        "ok": call.ok,
        "result": call.result,
        "error_code": call.error_code,
        "description": call.description,
        "via": call.via,
        "duration_ms": round(call.duration * 1000, 1),
    }


def traffic(bot: BotState, after: int) -> list[JSON]:
    """The calls answered after the one numbered `after`, oldest first."""
    return [call_view(call) for call in bot.calls if call.seq > after]


def webhook_view(bot: BotState) -> JSON:
    """The webhook as getWebhookInfo reports it (never the secret), and the last deliveries."""
    state = bot.webhook_state()
    deliveries = list(bot.deliveries)[-RECENT_DELIVERIES:]
    return {
        "url": state.url,
        "has_secret": state.secret_token is not None,
        "pending_update_count": state.pending_update_count,
        "last_error_date": state.last_error_date,
        "last_error_message": state.last_error_message,
        "max_connections": state.max_connections,
        "deliveries": [
            {
                "update_id": d.update_id,
                "status": d.status,
                "error": d.error,
                "duration_ms": None
                if d.finished is None
                else round((d.finished - d.started) * 1000),
            }
            for d in deliveries
        ],
    }


def commands(bot: BotState) -> list[JSON]:
    """The command menu users see: setMyCommands for the default scope, any language."""
    for key, listed in bot.commands.items():
        if key.startswith('{"type": "default"}|') and listed:
            return list(listed)
    return []


def chat_list(bot: BotState) -> list[JSON]:
    """Every chat a user has written in, with its last message id (for unread marks)."""
    return [
        {**chat, "last_message_id": max(bot.messages.get(chat_id, {}) or [0])}
        for chat_id, chat in bot.chats.items()
    ]


def transcript(bot: BotState, chat_id: int) -> str:
    """A chat as text, for a failing test: who said what, buttons, failed calls."""
    chat = bot.chats.get(chat_id, {"id": chat_id, "type": "private"})
    name = chat.get("title") or chat.get("first_name") or chat_id
    lines = [f"chat {chat_id} ({chat['type']}, {name}):"]
    for item in timeline(bot, chat_id):
        if item["kind"] == "error":
            lines.append(f"  bot ! {item['method']} failed: {item['description']}")
            continue
        sender = "bot" if item["from"]["is_bot"] else item["from"]["first_name"]
        edited = " (edited)" if "edit_date" in item else ""
        text = item.get("text", "").replace("\n", "\n" + " " * (len(sender) + 4))
        lines.append(f"  {sender}: {text}{edited}")
        rows = item.get("reply_markup", {}).get("inline_keyboard", [])
        buttons = " ".join(f"[{b.get('text')}]" for row in rows for b in row)
        if buttons:
            lines.append(f"  {' ' * len(sender)}  {buttons}")
    keyboard = bot.reply_keyboards.get(chat_id)
    if keyboard is not None:
        keys = " ".join(f"[{key_text(key)}]" for row in keyboard["keyboard"] for key in row)
        lines.append(f"  (reply keyboard: {keys})")
    if len(lines) == 1:
        lines.append("  (no messages)")
    return "\n".join(lines)


def key_text(key: Any) -> str:
    """A reply keyboard key's text (a key is a KeyboardButton or, in old bots, a string)."""
    return str(key.get("text", "")) if isinstance(key, dict) else str(key)
