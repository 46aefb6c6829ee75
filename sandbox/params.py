"""Reading Bot API parameters from any body Telegram accepts, normalised to JSON types.

Telegram accepts a query string, `application/json`, `application/x-www-form-urlencoded` and
`multipart/form-data` (what aiogram sends). In form bodies every value is a string and nested
objects (`reply_markup`, `allowed_updates`) are JSON text, so parameters are normalised here:
known integer fields become `int`, known flags `bool`, known object fields are JSON-decoded.
`ApiCall.params` therefore looks the same whichever transport a client used.
"""

from __future__ import annotations

import json
from email.message import Message as MimeMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from sandbox.errors import bad_request

JSON = dict[str, Any]

INT_FIELDS = frozenset(
    {
        "offset",
        "limit",
        "timeout",
        "max_connections",
        "message_id",
        "message_thread_id",
        "from_chat_id",
        "reply_to_message_id",
        "cache_time",
        "user_id",
    }
)
BOOL_FIELDS = frozenset(
    {
        "drop_pending_updates",
        "show_alert",
        "disable_notification",
        "protect_content",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "revoke_messages",
    }
)
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "link_preview_options",
        "reply_parameters",
    }
)


def parse_body(content_type: str, body: bytes) -> JSON:
    """Decode a request or response body of any content type Telegram accepts."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if not body.strip():
        return {}
    if mime == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError as exc:
            raise bad_request("can't parse JSON object") from exc
        if not isinstance(decoded, dict):
            raise bad_request("JSON object expected")
        return decoded
    if mime == "multipart/form-data":
        return _parse_multipart(content_type, body)
    # Telegram treats anything else as a url-encoded form, as aiohttp's FormData does.
    text = body.decode("utf-8", errors="replace")
    return dict(parse_qsl(text, keep_blank_values=True))


def _parse_multipart(content_type: str, body: bytes) -> JSON:
    # The stdlib MIME parser handles form-data well; it only needs the header line in front.
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: JSON = {}
    if not message.is_multipart():
        raise bad_request("can't parse multipart/form-data body")
    for part in message.iter_parts():
        assert isinstance(part, MimeMessage)
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        raw = payload if isinstance(payload, bytes) else b""
        if filename is not None:
            # Files are not stored; a marker keeps the call log readable.
            fields[name] = f"<file {filename}: {len(raw)} bytes>"
        else:
            charset = part.get_content_charset() or "utf-8"
            fields[name] = raw.decode(charset, errors="replace")
    return fields


def normalise(raw: JSON) -> JSON:
    """Give known fields their JSON types; drop empty strings, which Telegram treats as absent."""
    params: JSON = {}
    for key, value in raw.items():
        if isinstance(value, str):
            if value == "":
                continue
            value = _decode_text(key, value)
        params[key] = value
    return params


def _decode_text(key: str, value: str) -> Any:
    if key in INT_FIELDS or key == "chat_id":
        try:
            return int(value)
        except ValueError:
            return value  # "@channel" usernames, or garbage the method rejects
    if key in BOOL_FIELDS:
        return value.lower() in ("true", "1", "yes")
    if key in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def get_int(params: JSON, name: str, default: int = 0) -> int:
    """An integer parameter; like the Bot API server, garbage reads as 0."""
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    try:
        return int(str(value))
    except ValueError:
        return 0


def get_str(params: JSON, name: str) -> str:
    """A string parameter, "" when absent; numbers are rendered as text."""
    value = params.get(name)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def get_bool(params: JSON, name: str) -> bool:
    """A flag parameter: true, "true" or "1"."""
    value = params.get(name)
    if isinstance(value, str):
        return value.lower() in ("true", "1", "yes")
    return bool(value)


def get_json(params: JSON, name: str) -> Any:
    """An object parameter that may arrive decoded (JSON body) or as JSON text (form body)."""
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value
