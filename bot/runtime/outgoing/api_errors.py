"""What a failed Bot API call means, in words a person can act on."""

from __future__ import annotations

from aiogram.exceptions import (
    ClientDecodeError,
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

# Errors meaning "the Bot API is unreachable or unwell right now": worth retrying. OSError
# covers what aiohttp does not wrap, e.g. Windows' "[WinError 121] The semaphore timeout
# period has expired" after a laptop wakes up; ClientDecodeError is an HTML error page from a
# proxy in front of a local Bot API server.
API_UNAVAILABLE: tuple[type[BaseException], ...] = (
    TelegramNetworkError,
    TelegramServerError,
    ClientDecodeError,
    ClientError,
    OSError,
    TimeoutError,
)


def describe_error(exc: BaseException) -> str:
    """A one-line reason for a log line, without a traceback (nor a response's content)."""
    if isinstance(exc, ClientDecodeError):
        # Its str() ends with the whole response, users' messages included: not for a log.
        return f"ClientDecodeError: {exc.message} ({type(exc.original).__name__})"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def token_rejected_message(bot_label: str) -> str:
    """Telegram does not know the token (401): the fix is the same wherever it happens."""
    return (
        f"Telegram rejected the token {bot_label} (401 Unauthorized): it is wrong or was "
        "revoked. Copy the current token from @BotFather (/mybots -> API Token) into BOT_TOKEN."
    )


def not_a_bot_api_message(api_url: str) -> str:
    """What answers at TELEGRAM_API_URL is not a Bot API server (404)."""
    return (
        f"{api_url} answered 404 Not Found to a Bot API call: it is not a Bot API server. "
        "Check TELEGRAM_API_URL (leave it unset for api.telegram.org)."
    )


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
