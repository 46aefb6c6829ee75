"""`python -m bot webhook info | set | delete`: the webhook as Telegram knows it, by hand.

`set` goes through `ensure_webhook()` (the one registration the deploy uses too), so it
changes nothing when the webhook is already right; `delete` keeps pending updates unless
`--drop-pending-updates` is given.
"""

from __future__ import annotations

import argparse

from aiogram import Bot
from aiogram.types import WebhookInfo

from bot.commands.report import Checks, Report
from bot.commands.runner import config_refusal, settings_from_args
from bot.commands.telegram import (
    REQUEST_TIMEOUT,
    WEBHOOK_NONE_MEANS,
    configured_allowed_updates,
    open_bot,
    webhook_facts,
)
from bot.exit_codes import ExitCode
from bot.runtime.outgoing.retry import RetryPolicy, call_with_retry
from bot.settings import Settings
from bot.webhook.registration import ensure_webhook

# An operator's change waits out Telegram's 429 a few times, as a deploy does.
COMMAND_RETRY = RetryPolicy(attempts=5)


def webhook_settings(args: argparse.Namespace, command: str) -> Settings | Report:
    """The settings of a command that registers this environment's webhook, or the report
    refusing it (exit 2) when the environment polls."""
    settings = settings_from_args(args)
    if settings.bot_mode == "webhook":
        return settings
    env = settings.env_file.name if settings.env_file else "the environment"
    return config_refusal(
        command,
        [
            f"{command} registers this environment's webhook, but {env} configures polling "
            "(BOT_MODE=polling): use --env production, or set BOT_MODE=webhook with "
            "WEBHOOK_BASE_URL and WEBHOOK_SECRET"
        ],
    )


async def read_webhook_info(bot: Bot) -> WebhookInfo:
    """getWebhookInfo, with the commands' request timeout."""
    return await bot.get_webhook_info(request_timeout=REQUEST_TIMEOUT)


async def webhook_info(args: argparse.Namespace) -> Report:
    """What getWebhookInfo says, and whether it matches this configuration."""
    settings = settings_from_args(args)
    async with open_bot(settings) as bot:
        info = await read_webhook_info(bot)
    report = Report(
        "webhook info",
        f"Webhook of bot {settings.masked_token}:",
        facts=webhook_facts(info),
        none_means={**WEBHOOK_NONE_MEANS, "configured_url": f"none: {settings.bot_mode} mode"},
    )
    configured = settings.webhook_url if settings.bot_mode == "webhook" else None
    report.facts["configured_url"] = configured
    report.facts["matches_configuration"] = (info.url or None) == configured
    return report


async def webhook_set(args: argparse.Namespace) -> Report:
    """Register the configured webhook through ensure_webhook(); no change if already right."""
    command = "webhook set"
    settings = webhook_settings(args, command)
    if isinstance(settings, Report):
        return settings
    allowed_updates = await configured_allowed_updates(settings)
    async with open_bot(settings) as bot:
        registration = await ensure_webhook(bot, settings, allowed_updates)
    info = registration.info
    if registration.changed:
        headline = f"Webhook set to {settings.webhook_url}."
        summary = f"setWebhook: {registration.description}"
    else:
        headline = f"Webhook already set to {settings.webhook_url}: nothing changed."
        summary = "already right: setWebhook was not called"
    report = Report(command, headline, facts=webhook_facts(info), none_means=WEBHOOK_NONE_MEANS)
    report.add(Checks("register", "registration").ok(summary))
    return report


async def webhook_delete(args: argparse.Namespace) -> Report:
    """Delete the webhook; the pending updates stay for a poller unless asked to drop them."""
    command = "webhook delete"
    settings = settings_from_args(args)
    drop_pending_updates: bool = args.drop_pending_updates
    async with open_bot(settings) as bot:
        before = await read_webhook_info(bot)
        pending = before.pending_update_count
        if not before.url and not drop_pending_updates:
            return Report(
                command,
                f"No webhook is set: nothing to delete. {_updates(pending)} pending.",
                facts=webhook_facts(before),
                none_means=WEBHOOK_NONE_MEANS,
            )
        await call_with_retry(
            lambda: bot.delete_webhook(
                drop_pending_updates=drop_pending_updates, request_timeout=REQUEST_TIMEOUT
            ),
            "deleteWebhook",
            COMMAND_RETRY,
        )
        after = await read_webhook_info(bot)
    deleted = f"Webhook {before.url} deleted" if before.url else "No webhook was set"
    if drop_pending_updates:
        headline = f"{deleted}; {_updates(pending)} dropped (--drop-pending-updates)."
    else:
        headline = (
            f"{deleted}; {_updates(after.pending_update_count)} pending, kept: the next "
            "poller receives them."
        )
    report = Report(command, headline, facts=webhook_facts(after), none_means=WEBHOOK_NONE_MEANS)
    report.facts["pending_before"] = pending
    if after.url:
        report.add(
            Checks("verify", "read back").problem(
                f"getWebhookInfo still shows {after.url}",
                fix="another process set it again (a deploy step?); run webhook info",
            )
        )
        report.exit_code = ExitCode.ATTENTION
    return report


def _updates(count: int) -> str:
    return f"{count} update{'' if count == 1 else 's'}"
