"""Telegram's MarkdownV2 parse mode: plain text plus entities, or Telegram's 400.

Follows the Bot API server's parser (TDLib's `parse_markdown_v2`): it walks the UTF-8 bytes,
so error messages name the same byte offsets Telegram names ("Can't find end of Bold entity
at byte offset 6", "Character '.' is reserved and must be escaped with the preceding '\\'").
Entity offsets and lengths are in UTF-16 code units, as everywhere in the Bot API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sandbox.errors import BotApiError

JSON = dict[str, Any]

_RESERVED = b"_*[]()~`>#+-=|{}.!\n"
_SPACES = b" \t\r\n\v\f\x00"
_CUSTOM_EMOJI_URL = re.compile(r"tg://emoji\?id=(\d+)")
# TDLib's names, as the error messages spell them, and the Bot API's entity types.
_BOT_API_TYPES = {
    "Bold": "bold",
    "Italic": "italic",
    "Underline": "underline",
    "Strikethrough": "strikethrough",
    "Spoiler": "spoiler",
    "TextUrl": "text_link",
    "Code": "code",
    "Pre": "pre",
    "PreCode": "pre",
    "CustomEmoji": "custom_emoji",
    "BlockQuote": "blockquote",
}
# The byte that closes each entity (two-byte closers are checked in `_closes`).
_CLOSERS = {
    "Bold": "*",
    "Italic": "_",
    "Code": "`",
    "TextUrl": "]",
    "Strikethrough": "~",
    "CustomEmoji": "]",
}


class MarkdownError(Exception):
    """The text cannot be parsed; the message is Telegram's."""


@dataclass
class _Open:
    kind: str
    argument: str
    offset: int  # UTF-16 offset in the result
    byte_offset: int  # where it started in the source, for the error message
    result_start: int  # where its text starts in the result (bytes)


class _Parser:
    def __init__(self, source: str) -> None:
        self.src = source.encode()
        self.out = bytearray()
        self.utf16 = 0
        self.entities: list[JSON] = []
        self.open: list[_Open] = []
        self.blockquote = False

    def at(self, index: int) -> int:
        return self.src[index] if index < len(self.src) else 0

    def emit(self, byte: int) -> None:
        self.out.append(byte)
        if byte & 0xC0 != 0x80:  # the first byte of a character
            self.utf16 += 2 if byte >= 0xF0 else 1

    def parse(self) -> tuple[str, list[JSON]]:
        i = 0
        while i < len(self.src):
            i = self.step(i) + 1
        if self.blockquote and self.open and self.open[-1].kind == "BlockQuote":
            self.close(self.open.pop())
        if self.open:
            raise _unclosed(self.open[-1])
        return self.out.decode(), self.entities

    def step(self, i: int) -> int:
        """Handle the byte at `i`; returns the index of the last byte it used."""
        c = self.src[i]
        if c == ord("\\") and 0 < self.at(i + 1) <= 126:
            self.emit(self.src[i + 1])
            return i + 1
        in_code = bool(self.open) and self.open[-1].kind in ("Code", "Pre", "PreCode")
        if c not in (b"`" if in_code else _RESERVED):
            self.emit(c)
            return i
        if self.open and self._closes(i):
            return self.end(i)
        return self.begin(i)

    def _closes(self, i: int) -> bool:
        c, following = chr(self.src[i]), chr(self.at(i + 1))
        if self.blockquote and c == "\n" and following != ">":
            return True
        kind = self.open[-1].kind
        if kind == "Italic":
            return c == "_" and following != "_"
        if kind in ("Pre", "PreCode"):
            return self.src[i : i + 3] == b"```"
        if kind == "Underline":
            return c == "_" and following == "_"
        if kind == "Spoiler":
            return c == "|" and following == "|"
        return _CLOSERS.get(kind) == c

    def begin(self, i: int) -> int:
        c, following, start = chr(self.src[i]), chr(self.at(i + 1)), i
        argument = ""
        if c == "_":
            kind, i = ("Underline", i + 1) if following == "_" else ("Italic", i)
        elif c in "*~[":
            kind = {"*": "Bold", "~": "Strikethrough", "[": "TextUrl"}[c]
        elif c == "|" and following == "|":
            kind, i = "Spoiler", i + 1
        elif c == "!" and following == "[":
            kind, i = "CustomEmoji", i + 1
        elif c == "`" and self.src[i : i + 3] == b"```":
            kind, argument, i = self._pre(i + 3)
        elif c == "`":
            kind = "Code"
        elif c == "\n":
            self.emit(ord("\n"))
            if self.at(i + 1) != ord(">"):
                return i
            i += 1
            if self.blockquote:
                return i
            kind, self.blockquote = "BlockQuote", True
        elif c == ">" and i == 0:
            kind, self.blockquote = "BlockQuote", True
        else:
            raise MarkdownError(
                f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
            )
        self.open.append(_Open(kind, argument, self.utf16, start, len(self.out)))
        return i

    def _pre(self, i: int) -> tuple[str, str, int]:
        """After ```: an optional language, then one skipped line break."""
        kind, language, end = "Pre", "", i
        while self.at(end) not in _SPACES and self.at(end) != ord("`"):
            end += 1
        if end != i and end < len(self.src) and self.at(end) != ord("`"):
            kind, language, i = "PreCode", self.src[i:end].decode(), end
        if self.at(i) in b"\r\n":
            pair = self.at(i + 1) in b"\r\n" and self.at(i) != self.at(i + 1)
            i += 2 if pair else 1
        return kind, language, i - 1

    def end(self, i: int) -> int:
        top = self.open[-1]
        if self.src[i] == ord("\n") and top.kind != "BlockQuote":
            raise _unclosed(top)
        if top.kind in ("Underline", "Spoiler"):
            i += 1
        elif top.kind in ("Pre", "PreCode"):
            i += 2
        elif top.kind == "TextUrl":
            i = self._text_url(i, top)
        elif top.kind == "CustomEmoji":
            i = self._custom_emoji(i, top)
        elif top.kind == "BlockQuote":
            self.blockquote = False
            self.emit(self.src[i])
        self.close(self.open.pop())
        return i

    def _url(self, i: int, what: str) -> tuple[str, int]:
        """The (escaped) URL in `(...)` that starts at `i`; returns it and the index of `)`."""
        begin, url = i, bytearray()
        while i < len(self.src) and self.src[i] != ord(")"):
            if self.src[i] == ord("\\") and 0 < self.at(i + 1) <= 126:
                i += 1
            url.append(self.src[i])
            i += 1
        if self.at(i) != ord(")"):
            raise MarkdownError(f"Can't find end of {what} at byte offset {begin}")
        return url.decode(errors="replace"), i

    def _text_url(self, i: int, top: _Open) -> int:
        if self.at(i + 1) != ord("("):
            url = self.out[top.result_start :].decode(errors="replace")  # the text is the URL
        else:
            url, i = self._url(i + 2, "a URL")
        url = url.strip()
        top.argument = url if not url or "://" in url else f"http://{url}"
        return i

    def _custom_emoji(self, i: int, top: _Open) -> int:
        if self.at(i + 1) != ord("("):
            raise MarkdownError("Custom emoji entity must contain a tg://emoji URL")
        url, i = self._url(i + 2, "a custom emoji URL")
        match = _CUSTOM_EMOJI_URL.fullmatch(url)
        if match is None:
            raise MarkdownError("Custom emoji URL must have scheme tg")
        top.argument = match.group(1)
        return i

    def close(self, top: _Open) -> None:
        length = self.utf16 - top.offset
        if length == 0 or (top.kind == "TextUrl" and not top.argument):
            return  # Telegram drops empty entities and links without a usable URL
        entity: JSON = {"offset": top.offset, "length": length, "type": _BOT_API_TYPES[top.kind]}
        if top.kind == "TextUrl":
            entity["url"] = top.argument
        elif top.kind == "PreCode":
            entity["language"] = top.argument
        elif top.kind == "CustomEmoji":
            entity["custom_emoji_id"] = top.argument
        self.entities.append(entity)


def _unclosed(top: _Open) -> MarkdownError:
    return MarkdownError(f"Can't find end of {top.kind} entity at byte offset {top.byte_offset}")


def parse_markdown_v2(source: str) -> tuple[str, list[JSON]]:
    """MarkdownV2 text -> (plain text, entities), or 400 `can't parse entities: ...`."""
    try:
        text, entities = _Parser(source).parse()
    except MarkdownError as exc:
        raise BotApiError(400, f"Bad Request: can't parse entities: {exc}") from None
    return text, sorted(entities, key=lambda e: (e["offset"], -e["length"]))
