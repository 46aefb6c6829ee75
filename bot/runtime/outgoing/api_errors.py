"""What a failed Bot API call means, in words a person can act on."""

from __future__ import annotations

from aiogram.exceptions import (
    ClientDecodeError,
    TelegramNetworkError,
    TelegramServerError,
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
