"""The doctor's checks that talk to the Bot API server: is it reachable (DNS, TCP, TLS), is the
token valid (getMe), and is the webhook what this environment expects (getWebhookInfo)."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import WebhookInfo

from bot.commands.context import DoctorContext
from bot.commands.network import probe
from bot.commands.report import Check, Checks, Report, ago
from bot.commands.telegram import (
    REQUEST_TIMEOUT,
    WEBHOOK_NONE_MEANS,
    configured_allowed_updates,
    describe_api_error,
    seconds_since,
    webhook_facts,
)

# A webhook error older than this is history, not a current problem.
RECENT_ERROR_SECONDS = 3600
REACHABLE = Checks("api_reachable", "Bot API server")


async def add_reachability(report: Report, ctx: DoctorContext) -> bool:
    """Probe TELEGRAM_API_URL step by step; True when the Bot API calls are worth trying."""
    url = ctx.api_url
    if url is None:
        report.add(REACHABLE.skipped("TELEGRAM_API_URL is not usable"))
        return False
    result = await probe(url)
    details: dict[str, Any] = {
        "url": url,
        "steps": [
            {"step": s.name, "ok": s.ok, "ms": round(s.seconds * 1000, 1), "detail": s.detail}
            for s in result.steps
        ],
    }
    failed = result.failed
    if failed is not None:
        report.add(
            REACHABLE.problem(
                f"{url} unreachable at the {failed.name.upper()} step: {failed.detail} "
                f"({result.summary()})",
                fix=_reachability_fix(failed.name, failed.detail, ctx.config.uses_official_api),
                details=details,
            )
        )
        return False
    summary = f"{url} reachable: {result.summary()}"
    if urlsplit(url).scheme == "http" and not _is_private(result.host):
        summary += "; plain http to a public host sends the token unencrypted"
        fix = "use https for TELEGRAM_API_URL, or run the Bot API server on this machine"
        report.add(REACHABLE.warning(summary, fix=fix, details=details))
    else:
        report.add(REACHABLE.ok(summary, details=details))
    return True


def _reachability_fix(step: str, detail: str, official: bool) -> str:
    if step == "dns":
        return (
            "this machine cannot resolve the host: check its DNS and internet connection "
            "(`nslookup api.telegram.org`), or the host name in TELEGRAM_API_URL"
        )
    if "refused" in detail:
        if official:
            return "a firewall or proxy rejects the connection: allow outgoing https"
        return (
            "nothing listens there: start the local Bot API server (or the sandbox), "
            "or correct TELEGRAM_API_URL"
        )
    if "timed out" in detail:
        return (
            "packets are dropped on the way (firewall, VPN, a provider or country blocking "
            "Telegram): try `curl -v https://api.telegram.org`; use a proxy or a local Bot API "
            "server; a poller retries by itself once the network is back"
        )
    if step == "tls":
        return (
            "the TLS handshake failed: a proxy intercepting https, or an outdated CA store "
            "(update the certifi package / the system certificates)"
        )
    return "check the network between this machine and the Bot API server"


def _is_private(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback


TOKEN = Checks("token", "bot token")
WEBHOOK = Checks("webhook", "webhook")
WEBHOOK_SETTINGS = Checks("webhook_settings", "webhook settings")
DELIVERY = Checks("webhook_delivery", "webhook delivery")


async def add_token_check(report: Report, bot: Bot) -> bool:
    """getMe: the token is valid and whose it is; True when Telegram accepted it."""
    try:
        me = await bot.get_me(request_timeout=REQUEST_TIMEOUT)
    except TelegramAPIError as exc:
        what, fix = describe_api_error(exc)
        report.add(TOKEN.problem(f"getMe failed: {what}", fix=fix))
        report.add(WEBHOOK.skipped("getWebhookInfo not called"))
        return False
    summary = f"valid: @{me.username} (id {me.id})"
    report.add(TOKEN.ok(summary, details={"username": me.username, "id": me.id}))
    return True


async def add_webhook_checks(report: Report, bot: Bot, ctx: DoctorContext) -> None:
    """getWebhookInfo compared with this environment: mode, URL, settings, delivery errors."""
    try:
        info = await bot.get_webhook_info(request_timeout=REQUEST_TIMEOUT)
    except TelegramAPIError as exc:
        what, fix = describe_api_error(exc)
        report.add(WEBHOOK.problem(f"getWebhookInfo: {what}", fix=fix))
        return
    report.facts.update({f"webhook_{key}": value for key, value in webhook_facts(info).items()})
    report.none_means.update({f"webhook_{key}": text for key, text in WEBHOOK_NONE_MEANS.items()})
    report.add(_webhook_check(info, ctx))
    if ctx.config.bot_mode == "webhook" and info.url and info.url == ctx.config.webhook_url:
        await _add_webhook_settings_check(report, info.allowed_updates, info.max_connections, ctx)
    _add_delivery_check(report, info.url, info.last_error_message, info.last_error_date)


def _webhook_check(info: WebhookInfo, ctx: DoctorContext) -> Check:
    details = {"info": info.model_dump(mode="json")}
    configured = ctx.config.webhook_url
    mode = ctx.config.bot_mode
    env_flag = f" --env {ctx.config.app_env}"
    if info.url and mode == "polling":
        return WEBHOOK.problem(
            f"a webhook is set ({info.url}) while this environment is configured for polling: "
            "`python run.py` refuses to poll (exit 4) and Telegram delivers to that URL",
            fix="if this token is production's, give development its own bot (@BotFather "
            "/newbot) in .env.local; to move this bot back to polling on purpose: "
            f"python -m bot rollback{env_flag}",
            details=details,
        )
    if not info.url and mode == "webhook":
        return WEBHOOK.problem(
            "no webhook is set, though this environment is configured for webhook mode: "
            "Telegram delivers nothing",
            fix=f"python -m bot migrate{env_flag} (or: python -m bot webhook set{env_flag})",
            details=details,
        )
    if info.url and info.url != configured:
        return WEBHOOK.problem(
            f"the webhook points to {info.url}, this environment expects {configured}",
            fix=f"python -m bot webhook set{env_flag}; if that URL is another deployment, it "
            "shares this bot's token",
            details=details,
        )
    if info.url:
        return WEBHOOK.ok(f"set to {info.url}, as configured", details=details)
    pending = info.pending_update_count
    return WEBHOOK.ok(f"none set, so polling can receive updates ({pending} waiting)", details)


async def _add_webhook_settings_check(
    report: Report, allowed: list[str] | None, max_connections: int | None, ctx: DoctorContext
) -> None:
    settings = ctx.settings
    if settings is None:
        return
    differences = []
    try:
        wanted = await configured_allowed_updates(settings)
    except ImportError as exc:
        report.add(
            WEBHOOK_SETTINGS.warning(
                f"cannot load the handlers to compare allowed updates: {exc}",
                fix=f"check HANDLERS_MODULE ({settings.handlers_module})",
            )
        )
        return
    # Compared as ensure_webhook() compares them, so a warning here means `webhook set` acts.
    if sorted(allowed or []) != sorted(wanted):
        differences.append(f"allowed updates are {allowed}, the handlers use {wanted}")
    if max_connections is not None and max_connections != settings.webhook_max_connections:
        differences.append(
            f"max connections is {max_connections}, "
            f"WEBHOOK_MAX_CONNECTIONS={settings.webhook_max_connections}"
        )
    if differences:
        fix = f"python -m bot webhook set --env {settings.app_env}"
        report.add(WEBHOOK_SETTINGS.warning("; ".join(differences), fix=fix))
    else:
        report.add(WEBHOOK_SETTINGS.ok("match this configuration"))


def _add_delivery_check(
    report: Report, url: str | None, error: str | None, error_date: Any
) -> None:
    if not url:
        return
    since = seconds_since(error_date)
    if not error or since is None:
        report.add(DELIVERY.ok("no delivery error"))
        return
    summary = f"last error {ago(since)}: {error}"
    if since > RECENT_ERROR_SECONDS:
        report.add(DELIVERY.ok(summary + " (old)"))
        return
    report.add(
        DELIVERY.warning(
            summary,
            fix="check that the webhook app runs and nginx proxies to it (its log names each "
            "refused request); a 401 means WEBHOOK_SECRET differs between the app and the "
            "registration: run python -m bot webhook set",
        )
    )
