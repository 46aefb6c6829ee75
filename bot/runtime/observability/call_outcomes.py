"""The outcome of a Bot API call, as the metrics label it (`telegram_bot_api_requests_total`):
`ok`, `429`, `4xx` with the description's class, `5xx`, `network_error`, or `other`.

The classes are the 4xx descriptions worth telling apart on a dashboard (a blocked bot, a
deleted chat, ...); docs/monitoring.md lists them.
"""

from __future__ import annotations

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiohttp import ClientError

# The 4xx descriptions worth telling apart on a dashboard (lower case, as a part of the text).
_DESCRIPTION_CLASSES = (
    ("bot was blocked by the user", "bot_blocked"),
    ("user is deactivated", "user_deactivated"),
    ("bot was kicked", "bot_kicked"),
    ("chat not found", "chat_not_found"),
    ("message is not modified", "message_not_modified"),
    ("message to edit not found", "message_not_found"),
    ("message to delete not found", "message_not_found"),
    ("message can't be edited", "message_not_editable"),
    ("query is too old", "query_too_old"),
    ("not enough rights", "not_enough_rights"),
    ("can't parse entities", "cant_parse_entities"),
    ("message is too long", "message_too_long"),
    ("terminated by other getupdates", "other_poller"),
    ("webhook is active", "webhook_active"),
)
# Any other 4xx: its kind.
_CLIENT_ERRORS: tuple[tuple[type[TelegramAPIError], str], ...] = (
    (TelegramUnauthorizedError, "unauthorized"),
    (TelegramForbiddenError, "forbidden"),
    (TelegramNotFound, "not_found"),
    (TelegramConflictError, "conflict"),
    (TelegramEntityTooLarge, "entity_too_large"),
    (TelegramMigrateToChat, "migrate_to_chat"),
    (TelegramBadRequest, "bad_request"),
)


def call_outcome(exc: BaseException | None) -> tuple[str, str]:
    """(outcome, error) of a Bot API call for the metrics: `ok`, `429`, `4xx` with the
    description's class, `5xx`, `network_error`, or `other` with the exception's type."""
    if exc is None:
        return "ok", ""
    if isinstance(exc, TelegramRetryAfter):
        return "429", "retry_after"
    if isinstance(exc, TelegramServerError):
        return "5xx", ""
    if isinstance(exc, TelegramNetworkError | ClientError | OSError | TimeoutError):
        return "network_error", ""
    for error_type, kind in _CLIENT_ERRORS:
        if isinstance(exc, error_type):
            description = exc.message.lower()
            known = (name for text, name in _DESCRIPTION_CLASSES if text in description)
            return "4xx", next(known, kind)
    return "other", type(exc).__name__
