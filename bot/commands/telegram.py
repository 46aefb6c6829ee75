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
from bot.factory import create_bot, create_dispatcher
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
    dispatcher = create_dispatcher(settings)
    try:
        return dispatcher.resolve_used_update_types()
    finally:
        await dispatcher.fsm.close()


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


def webhook_facts(info: WebhookInfo, now: datetime | None = None) -> dict[str, Any]:
    """getWebhookInfo as an ordered mapping for reports (`-` stands for not set)."""
    facts: dict[str, Any] = {
        "url": info.url or "(none: no webhook is set)",
        "pending updates": info.pending_update_count,
        "last error": info.last_error_message or None,
        "last error at": _when(info.last_error_date, now),
        "allowed updates": (
            info.allowed_updates
            if info.allowed_updates is not None
            else "Telegram's default (all but chat_member, message_reaction...)"
        ),
        "max connections": info.max_connections,
        "custom certificate": info.has_custom_certificate,
        "ip address": info.ip_address,
    }
    if not info.url:
        for key in ("max connections", "custom certificate", "ip address", "allowed updates"):
            facts.pop(key)
    return facts


def seconds_since(moment: datetime | int | None, now: datetime | None = None) -> float | None:
    """How long ago `moment` was (None when unset)."""
    if moment is None:
        return None
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment, tz=UTC)
    now = now or datetime.now(UTC)
    return (now - moment).total_seconds()


def ago(seconds: float) -> str:
    """`42 s ago`, `5 min ago`, `3 h ago`, `2 days ago`."""
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def _when(moment: datetime | int | None, now: datetime | None) -> str | None:
    seconds = seconds_since(moment, now)
    if moment is None or seconds is None:
        return None
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment, tz=UTC)
    local = moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    return f"{local} ({ago(seconds)})"
