"""What the operator commands share when they talk to the Bot API: a bot that is always
closed, the allowed updates, errors in plain words, and webhook info as readable facts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramUnauthorizedError,
)
from aiogram.types import WebhookInfo

from bot.commands.network import classify_error
from bot.factory import create_bot, used_update_types
from bot.settings import Settings

# Seconds one Bot API request of a command may take; commands must not hang a deploy script.
REQUEST_TIMEOUT = 15


@asynccontextmanager
async def open_bot(settings: Settings) -> AsyncIterator[Bot]:
    """The project's Bot (bot.factory), its HTTP session closed on the way out."""
    bot = create_bot(settings)
    try:
        yield bot
    finally:
        await bot.session.close()


async def configured_allowed_updates(settings: Settings) -> list[str]:
    """The update types this bot's handlers use: what the webhook should ask Telegram for."""
    return used_update_types(settings)


def describe_api_error(exc: Exception) -> tuple[str, str]:
    """(what happened, what to do) for an error of a Bot API call."""
    if isinstance(exc, TelegramUnauthorizedError):
        return (
            "Telegram rejects the token (401 Unauthorized): it is mistyped or was revoked",
            "copy the current token from @BotFather (/mybots -> API Token) into BOT_TOKEN",
        )
    if isinstance(exc, TelegramNetworkError):
        cause = exc.__cause__ or exc.__context__
        what = classify_error(cause) if cause is not None else exc.message
        return (
            f"the Bot API server cannot be reached: {what}",
            "check the network and TELEGRAM_API_URL; `python -m bot doctor` names the step",
        )
    if isinstance(exc, TelegramAPIError):
        return (f"the Bot API refused the call: {exc.message}", "read the message above")
    return (f"{type(exc).__name__}: {exc}", "read the message above")


# What a null fact of getWebhookInfo means, for the text output.
WEBHOOK_NONE_MEANS = {
    "url": "none: no webhook is set",
    "allowed_updates": "Telegram's default (all but chat_member, message_reaction...)",
}


def webhook_facts(info: WebhookInfo) -> dict[str, Any]:
    """getWebhookInfo as machine values: null for "not set", numbers, booleans, times."""
    facts: dict[str, Any] = {
        "url": info.url or None,
        "pending_update_count": info.pending_update_count,
        "last_error_message": info.last_error_message or None,
        "last_error_date": _as_datetime(info.last_error_date),
    }
    if info.url:
        facts.update(
            allowed_updates=info.allowed_updates,
            max_connections=info.max_connections,
            has_custom_certificate=info.has_custom_certificate,
            ip_address=info.ip_address,
        )
    return facts


def _as_datetime(moment: datetime | int | None) -> datetime | None:
    if isinstance(moment, int):
        return datetime.fromtimestamp(moment, tz=UTC)
    return moment


def seconds_since(moment: datetime | int | None, now: datetime | None = None) -> float | None:
    """How long ago `moment` was (None when unset)."""
    moment = _as_datetime(moment)
    if moment is None:
        return None
    return ((now or datetime.now(UTC)) - moment).total_seconds()
