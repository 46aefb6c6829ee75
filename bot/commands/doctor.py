"""`python -m bot doctor`: every usual cause of `TelegramConflictError` and of a silent bot,
checked in one go, each reported as ok / warning / problem with its fix.

It never changes anything: it reads files, the polling lock and the process list, and calls
only getMe and getWebhookInfo. A configuration that does not load still gets every check that
can run without it.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from pydantic import SecretStr

from bot.cli import settings_from_args
from bot.commands.checks import (
    check_config,
    check_env_permissions,
    check_environment,
    check_same_token,
    check_webhook_secret,
    check_webhook_url,
)
from bot.commands.context import DoctorContext, raw_values
from bot.commands.instances import check_lock, check_processes
from bot.commands.network import probe
from bot.commands.report import Check, Report
from bot.commands.telegram import (
    REQUEST_TIMEOUT,
    ago,
    configured_allowed_updates,
    describe_api_error,
    open_bot,
    seconds_since,
    webhook_facts,
)
from bot.config import ConfigError, resolve_env_file
from bot.settings import Settings, mask_token

# A webhook error older than this is history, not a current problem.
RECENT_ERROR_SECONDS = 3600


def build_context(
    args: argparse.Namespace, root: Path, environ: Mapping[str, str] | None = None
) -> DoctorContext:
    """Load the settings for the command line, keeping the raw values if they do not load."""
    environ = os.environ if environ is None else environ
    env_file, _ = resolve_env_file(args.env, args.env_file, environ, root)
    flags = {"APP_ENV": args.env} if args.env else {}
    values = raw_values(env_file, environ, flags)
    try:
        settings: Settings | None = settings_from_args(args, root=root)
        problems: list[str] = []
    except ConfigError as exc:
        settings, problems = None, exc.problems
    return DoctorContext(root, env_file, env_file.is_file(), values, settings, problems)


async def doctor(args: argparse.Namespace, root: Path) -> Report:
    """Run every check for the environment named on the command line."""
    ctx = build_context(args, root)
    token = mask_token(ctx.token) if ctx.token else "(no usable token)"
    report = Report(
        "doctor",
        f"Doctor for bot {token}, {ctx.app_env} environment, {ctx.mode} mode "
        "(read-only: nothing is changed)",
    )
    for check in check_config(ctx):
        report.add(check)
    report.add(check_environment(ctx))

    reachable = await _add_reachability(report, ctx)
    if reachable and ctx.token is not None and ctx.api_url is not None:
        api_settings = ctx.settings or Settings(
            bot_token=SecretStr(ctx.token), telegram_api_url=ctx.api_url
        )
        async with open_bot(api_settings) as bot:
            if await _add_token_check(report, bot):
                await _add_webhook_checks(report, bot, ctx)
    else:
        why = "no usable BOT_TOKEN" if ctx.token is None else "the Bot API server is unreachable"
        report.add(Check("token", "bot token", "skipped", f"getMe not called: {why}"))
        report.add(Check("webhook", "webhook", "skipped", f"getWebhookInfo not called: {why}"))

    lock_check, holder = check_lock(ctx)
    report.add(lock_check)
    report.add(check_processes(ctx, holder))
    report.add(check_same_token(ctx))
    report.add(check_env_permissions(ctx))
    report.add(check_webhook_url(ctx))
    report.add(check_webhook_secret(ctx))
    report.exit_code = report.exit_code_from_checks()
    return report


async def _add_reachability(report: Report, ctx: DoctorContext) -> bool:
    title = "Bot API server"
    url = ctx.api_url
    if url is None:
        report.add(Check("api_reachable", title, "skipped", "TELEGRAM_API_URL is not usable"))
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
            Check(
                "api_reachable",
                title,
                "problem",
                f"{url} unreachable at the {failed.name.upper()} step: {failed.detail} "
                f"({result.summary()})",
                fix=_reachability_fix(failed.name, failed.detail, ctx.uses_official_api),
                details=details,
            )
        )
        return False
    status: Any = "ok"
    summary = f"{url} reachable: {result.summary()}"
    fix = None
    if urlsplit(url).scheme == "http" and not _is_private(result.host):
        status = "warning"
        summary += "; plain http to a public host sends the token unencrypted"
        fix = "use https for TELEGRAM_API_URL, or run the Bot API server on this machine"
    report.add(Check("api_reachable", title, status, summary, fix=fix, details=details))
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


async def _add_token_check(report: Report, bot: Bot) -> bool:
    try:
        me = await bot.get_me(request_timeout=REQUEST_TIMEOUT)
    except TelegramAPIError as exc:
        what, fix = describe_api_error(exc)
        report.add(Check("token", "bot token", "problem", f"getMe failed: {what}", fix=fix))
        report.add(Check("webhook", "webhook", "skipped", "getWebhookInfo not called"))
        return False
    report.add(
        Check(
            "token",
            "bot token",
            "ok",
            f"valid: @{me.username} (id {me.id})",
            details={"username": me.username, "id": me.id},
        )
    )
    return True


async def _add_webhook_checks(report: Report, bot: Bot, ctx: DoctorContext) -> None:
    try:
        info = await bot.get_webhook_info(request_timeout=REQUEST_TIMEOUT)
    except TelegramAPIError as exc:
        what, fix = describe_api_error(exc)
        report.add(Check("webhook", "webhook", "problem", f"getWebhookInfo: {what}", fix=fix))
        return
    facts = webhook_facts(info)
    report.facts.update({f"webhook {key}": value for key, value in facts.items()})
    details = {"info": info.model_dump(mode="json")}
    configured = ctx.webhook_url
    env_flag = f" --env {ctx.app_env}"
    if info.url and ctx.mode == "polling":
        report.add(
            Check(
                "webhook",
                "webhook",
                "problem",
                f"a webhook is set ({info.url}) while this environment is configured for "
                "polling: `python run.py` refuses to poll (exit 4) and Telegram delivers "
                "to that URL",
                fix="if this token is production's, give development its own bot "
                "(@BotFather /newbot) in .env.local; to move this bot back to polling on "
                f"purpose: python -m bot rollback{env_flag}",
                details=details,
            )
        )
    elif not info.url and ctx.mode == "webhook":
        report.add(
            Check(
                "webhook",
                "webhook",
                "problem",
                "no webhook is set, though this environment is configured for webhook mode: "
                "Telegram delivers nothing",
                fix=f"python -m bot migrate{env_flag} (or: python -m bot webhook set{env_flag})",
                details=details,
            )
        )
    elif info.url and info.url != configured:
        report.add(
            Check(
                "webhook",
                "webhook",
                "problem",
                f"the webhook points to {info.url}, this environment expects {configured}",
                fix=f"python -m bot webhook set{env_flag}; if that URL is another deployment, "
                "it shares this bot's token",
                details=details,
            )
        )
    elif info.url:
        report.add(
            Check("webhook", "webhook", "ok", f"set to {info.url}, as configured", details=details)
        )
        await _add_webhook_settings_check(report, info.allowed_updates, info.max_connections, ctx)
    else:
        pending = info.pending_update_count
        report.add(
            Check(
                "webhook",
                "webhook",
                "ok",
                f"none set, so polling can receive updates ({pending} waiting)",
                details=details,
            )
        )
    _add_delivery_check(report, info.url, info.last_error_message, info.last_error_date)


async def _add_webhook_settings_check(
    report: Report, allowed: list[str] | None, max_connections: int | None, ctx: DoctorContext
) -> None:
    if ctx.settings is None:
        return
    differences = []
    try:
        wanted = await configured_allowed_updates(ctx.settings)
    except ImportError as exc:
        report.add(
            Check(
                "webhook_settings",
                "webhook settings",
                "warning",
                f"cannot load the handlers to compare allowed updates: {exc}",
                fix=f"check HANDLERS_MODULE ({ctx.settings.handlers_module})",
            )
        )
        return
    # Compared as ensure_webhook() compares them, so a warning here means `webhook set` acts.
    if sorted(allowed or []) != sorted(wanted):
        differences.append(f"allowed updates are {allowed}, the handlers use {wanted}")
    if max_connections is not None and max_connections != ctx.settings.webhook_max_connections:
        differences.append(
            f"max connections is {max_connections}, "
            f"WEBHOOK_MAX_CONNECTIONS={ctx.settings.webhook_max_connections}"
        )
    if differences:
        report.add(
            Check(
                "webhook_settings",
                "webhook settings",
                "warning",
                "; ".join(differences),
                fix=f"python -m bot webhook set --env {ctx.app_env}",
            )
        )
    else:
        report.add(Check("webhook_settings", "webhook settings", "ok", "match this configuration"))


def _add_delivery_check(
    report: Report, url: str | None, error: str | None, error_date: Any
) -> None:
    if not url:
        return
    since = seconds_since(error_date)
    if not error or since is None:
        report.add(Check("webhook_delivery", "webhook delivery", "ok", "no delivery error"))
        return
    summary = f"last error {ago(since)}: {error}"
    if since > RECENT_ERROR_SECONDS:
        report.add(Check("webhook_delivery", "webhook delivery", "ok", summary + " (old)"))
        return
    report.add(
        Check(
            "webhook_delivery",
            "webhook delivery",
            "warning",
            summary,
            fix="check that the webhook app runs and nginx proxies to it (its log names each "
            "refused request); a 401 means WEBHOOK_SECRET differs between the app and the "
            "registration: run python -m bot webhook set",
        )
    )
