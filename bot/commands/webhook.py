"""`python -m bot webhook info | set | delete`: the webhook as Telegram knows it, by hand.

`set` goes through `ensure_webhook()` (the one registration the deploy uses too), so it
changes nothing when the webhook is already right; `delete` keeps pending updates unless
`--drop-pending-updates` is given.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import WebhookInfo

from bot.commands.report import Check, CommandExit, Report
from bot.commands.telegram import (
    REQUEST_TIMEOUT,
    configured_allowed_updates,
    open_bot,
    webhook_facts,
)
from bot.settings import Settings
from bot.webhook.registration import call_with_retry_after, ensure_webhook


def webhook_config_problems(settings: Settings, command: str) -> list[str]:
    """Why this configuration cannot register a webhook (empty when it can)."""
    env = settings.env_file.name if settings.env_file else "the environment"
    problems = []
    if settings.bot_mode != "webhook":
        problems.append(
            f"{command} registers this environment's webhook, but {env} configures polling "
            "(BOT_MODE=polling): use --env production, or set BOT_MODE=webhook with "
            "WEBHOOK_BASE_URL and WEBHOOK_SECRET"
        )
    elif settings.webhook_url is None or settings.webhook_secret is None:
        problems.append(f"WEBHOOK_BASE_URL and WEBHOOK_SECRET must be set in {env}")
    return problems


def refused_for_config(command: str, problems: list[str]) -> Report:
    """The report of a command that cannot run with this configuration (exit 2)."""
    report = Report(command, f"{command}: nothing was changed.", exit_code=CommandExit.CONFIG)
    for problem in problems:
        report.add(Check("config", "configuration", "problem", problem))
    return report


async def read_webhook_info(bot: Bot) -> WebhookInfo:
    """getWebhookInfo, with the commands' request timeout."""
    return await bot.get_webhook_info(request_timeout=REQUEST_TIMEOUT)


async def webhook_info(settings: Settings) -> Report:
    """What getWebhookInfo says, and whether it matches this configuration."""
    async with open_bot(settings) as bot:
        info = await read_webhook_info(bot)
    report = Report(
        "webhook info", f"Webhook of bot {settings.masked_token}:", facts=webhook_facts(info)
    )
    configured = settings.webhook_url if settings.bot_mode == "webhook" else None
    report.facts["configured"] = configured or f"(none: {settings.bot_mode} mode)"
    report.facts["matches configuration"] = (info.url or None) == configured
    return report


async def webhook_set(settings: Settings) -> Report:
    """Register the configured webhook through ensure_webhook(); no change if already right."""
    command = "webhook set"
    if problems := webhook_config_problems(settings, command):
        return refused_for_config(command, problems)
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
    report = Report(command, headline, facts=webhook_facts(info))
    report.add(Check("register", "registration", "ok", summary))
    return report


async def webhook_delete(settings: Settings, drop_pending_updates: bool) -> Report:
    """Delete the webhook; the pending updates stay for a poller unless asked to drop them."""
    command = "webhook delete"
    async with open_bot(settings) as bot:
        before = await read_webhook_info(bot)
        pending = before.pending_update_count
        if not before.url and not drop_pending_updates:
            return Report(
                command,
                f"No webhook is set: nothing to delete. {_updates(pending)} pending.",
                facts=webhook_facts(before),
            )
        await call_with_retry_after(
            lambda: bot.delete_webhook(
                drop_pending_updates=drop_pending_updates, request_timeout=REQUEST_TIMEOUT
            ),
            "deleteWebhook",
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
    report = Report(command, headline, facts=webhook_facts(after))
    report.facts["pending before"] = pending
    if after.url:
        report.add(
            Check(
                "verify",
                "read back",
                "problem",
                f"getWebhookInfo still shows {after.url}",
                fix="another process set it again (a deploy step?); run webhook info",
            )
        )
        report.exit_code = CommandExit.ATTENTION
    return report


def _updates(count: int) -> str:
    return f"{count} update{'' if count == 1 else 's'}"
