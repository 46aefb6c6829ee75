"""Telegram-shaped objects: users, chats, messages and their entities.

Offsets and lengths of entities are counted in UTF-16 code units, as Telegram counts them.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from sandbox.errors import BotApiError, bad_request
from sandbox.markdown import parse_markdown_v2

JSON = dict[str, Any]

# Entities Telegram finds in plain text on its own (a subset: the ones bots care about).
_AUTO_ENTITIES = re.compile(
    r"(?P<bot_command>(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>]))"
    r"|(?P<url>\bhttps?://[^\s<>\"]+)"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{5,32})"
    r"|(?P<hashtag>(?<![\w#])#\w+)"
)

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
PARSE_MODES = ("html", "markdown", "markdownv2")


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def bot_user(bot_id: int) -> JSON:
    """The bot as a `User` (the `from` of its messages)."""
    return {
        "id": bot_id,
        "is_bot": True,
        "first_name": "Sandbox Bot",
        "username": f"sandbox_{bot_id}_bot",
    }


def get_me(bot_id: int) -> JSON:
    """The result of `getMe`."""
    return {
        **bot_user(bot_id),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def human_user(
    user_id: int,
    first_name: str | None = None,
    username: str | None = None,
    language_code: str = "en",
) -> JSON:
    """A person talking to the bot; `language_code` is their app's language (IETF tag)."""
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name or f"User {user_id}",
        "username": username or f"user{user_id}",
        "language_code": language_code,
    }


def make_chat(chat_id: int, chat_type: str, user: JSON, title: str | None = None) -> JSON:
    """A `Chat`: a private chat mirrors its user, a group gets a title."""
    if chat_type == "private":
        chat: JSON = {"id": chat_id, "first_name": user["first_name"], "type": "private"}
        if "username" in user:
            chat["username"] = user["username"]
        return chat
    if chat_type in ("group", "supergroup", "channel"):
        title = title or f"Sandbox {chat_type} {chat_id}"
        return {"id": chat_id, "title": title, "type": chat_type}
    raise ValueError(f"unknown chat_type {chat_type!r}: use private, group, supergroup or channel")


def detect_entities(text: str) -> list[JSON]:
    """Entities Telegram finds by itself: commands, URLs, mentions, hashtags."""
    entities: list[JSON] = []
    for match in _AUTO_ENTITIES.finditer(text):
        kind = match.lastgroup
        if kind is None:
            continue
        entities.append(
            {
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group()),
                "type": kind,
            }
        )
    return entities


def format_text(text: str, parse_mode: str | None, entities: Any) -> tuple[str, list[JSON]]:
    """Apply `parse_mode` or explicit `entities`, then add the entities Telegram detects itself."""
    explicit: list[JSON] = []
    if isinstance(entities, list):
        explicit = [e for e in entities if isinstance(e, dict)]
    elif parse_mode:
        mode = parse_mode.lower()
        if mode not in PARSE_MODES:
            raise bad_request(f"unsupported parse_mode {parse_mode!r}".replace("'", '"'))
        if mode == "html":
            text, explicit = parse_html(text)
        elif mode == "markdownv2":
            text, explicit = parse_markdown_v2(text)
        # Legacy Markdown is passed through unchanged: the sandbox models HTML and MarkdownV2.
    text, explicit = _strip(text, explicit)
    if not text:
        raise bad_request("message text is empty")
    found = [e for e in detect_entities(text) if not _overlaps(e, explicit)]
    return text, sorted(explicit + found, key=lambda e: (e["offset"], -e["length"]))


def _strip(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram trims the text; entities move with it, and what was trimmed off is dropped."""
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    text = text.strip()
    size = utf16_len(text)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, size)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return text, kept


def _overlaps(entity: JSON, others: list[JSON]) -> bool:
    start, end = entity["offset"], entity["offset"] + entity["length"]
    return any(o["offset"] < end and start < o["offset"] + o["length"] for o in others)


class _HtmlEntities(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source_lines = source.splitlines(keepends=True)
        self.text = ""
        self.entities: list[JSON] = []
        self.open: list[tuple[str, int, JSON]] = []

    def byte_offset(self) -> int:
        line, column = self.getpos()
        before = "".join(self.source_lines[: line - 1])
        return (
            len((before + self.source_lines[line - 1][:column]).encode())
            if self.source_lines
            else 0
        )

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise _HtmlError(f'Unsupported start tag "{tag}" at byte offset {self.byte_offset()}')
        entity: JSON = {"type": _HTML_TAGS[tag]}
        values = dict(attrs)
        if tag == "a":
            entity["url"] = values.get("href") or ""
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = values.get("emoji-id") or ""
        elif tag == "code":
            entity["language"] = (values.get("class") or "").removeprefix("language-")
        elif tag == "blockquote" and "expandable" in values:
            entity["type"] = "expandable_blockquote"
        self.open.append((tag, utf16_len(self.text), entity))

    def handle_endtag(self, tag: str) -> None:
        if not self.open:
            raise _HtmlError(f"Unexpected end tag at byte offset {self.byte_offset()}")
        open_tag, offset, entity = self.open.pop()
        if open_tag != tag:
            raise _HtmlError(
                f"Unmatched end tag at byte offset {self.byte_offset()}, "
                f'expected "</{open_tag}>", found "</{tag}>"'
            )
        length = utf16_len(self.text) - offset
        if entity["type"] == "code":
            language = entity.pop("language")
            if language and self.open and self.open[-1][0] == "pre":
                # <pre><code class="language-x"> is one pre entity with a language.
                self.open[-1][2]["language"] = language
                return
        if length > 0:
            self.entities.append({"offset": offset, "length": length, **entity})

    def handle_data(self, data: str) -> None:
        self.text += data


class _HtmlError(Exception):
    pass


def parse_html(source: str) -> tuple[str, list[JSON]]:
    """Telegram's HTML parse mode: plain text plus entities, or 400 `can't parse entities`."""
    parser = _HtmlEntities(source)
    try:
        parser.feed(source)
        parser.close()
        if parser.open:
            tag = parser.open[-1][0]
            raise _HtmlError(f'Can\'t find end tag corresponding to start tag "{tag}"')
    except _HtmlError as exc:
        raise BotApiError(400, f"Bad Request: can't parse entities: {exc}") from None
    return parser.text, parser.entities


def message(
    message_id: int,
    sender: JSON,
    chat: JSON,
    date: int,
    text: str,
    entities: list[JSON],
    reply_markup: Any = None,
    reply_to: JSON | None = None,
) -> JSON:
    """A text `Message`; optional fields are left out, as Telegram leaves them out."""
    result: JSON = {"message_id": message_id, "from": sender, "chat": chat, "date": date}
    if reply_to is not None:
        result["reply_to_message"] = reply_to
    result["text"] = text
    if entities:
        result["entities"] = entities
    if is_inline_keyboard(reply_markup):
        # Telegram echoes only inline keyboards; reply keyboards live in the client.
        result["reply_markup"] = reply_markup
    return result


def is_inline_keyboard(markup: Any) -> bool:
    """True for an `InlineKeyboardMarkup` with at least one button."""
    return (
        isinstance(markup, dict)
        and isinstance(markup.get("inline_keyboard"), list)
        and any(markup["inline_keyboard"])
    )


def chat_key(update: JSON) -> int | None:
    """The chat an update belongs to (its delivery queue), or None for chat-less updates."""
    for value in update.values():
        if not isinstance(value, dict):
            continue
        chat = value.get("chat")
        if chat is None and isinstance(value.get("message"), dict):
            chat = value["message"].get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return int(chat["id"])
    return None
