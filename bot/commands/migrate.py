"""`python -m bot migrate` (polling -> webhook) and `rollback` (webhook -> polling).

Both keep the updates that are waiting: Telegram holds them until someone takes them, by
webhook delivery or getUpdates, so switching with `drop_pending_updates=False` loses none and
hands none out twice. Both are idempotent: a second run finds the work done and says so.
"""

from __future__ import annotations

import argparse
import time

import aiohttp

from bot.commands.network import classify_error
from bot.commands.report import Checks, Report
from bot.commands.runner import settings_from_args
from bot.commands.telegram import (
    REQUEST_TIMEOUT,
    WEBHOOK_NONE_MEANS,
    configured_allowed_updates,
    open_bot,
    webhook_facts,
)
from bot.commands.webhook import COMMAND_RETRY, read_webhook_info, webhook_settings
from bot.exit_codes import ExitCode
from bot.factory import create_shared_state
from bot.runtime.outgoing.retry import call_with_retry
from bot.runtime.single_poller.holder import check_holder, holder_advice
from bot.runtime.single_poller.lock import LockUnusable, read_lock_holder
from bot.settings import PROJECT_NAME, Settings
from bot.webhook.registration import ensure_webhook

PROBE_TIMEOUT = 10.0


def readyz_url(settings: Settings) -> str:
    """The public readiness URL of the webhook app: WEBHOOK_BASE_URL + /readyz."""
    assert settings.webhook_base_url is not None
    return settings.webhook_base_url.rstrip("/") + "/readyz"


async def probe_readyz(url: str) -> tuple[bool, str]:
    """GET the readiness URL as Telegram would reach it; (ready, what happened)."""
    started = time.monotonic()
    try:
        timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, allow_redirects=False) as response,
        ):
            status = response.status
    except aiohttp.ClientConnectorError as exc:
        return False, f"GET {url}: {classify_error(exc.os_error)}"
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return False, f"GET {url}: {classify_error(exc)}"
    elapsed = f"{(time.monotonic() - started) * 1000:.0f} ms"
    if 200 <= status <= 299:
        return True, f"GET {url} -> {status} in {elapsed}"
    if status == 503:
        return False, f"GET {url} -> 503: the app is starting or draining, not ready yet"
    if status == 404:
        return False, (
            f"GET {url} -> 404: the proxy does not pass /readyz to the app (nginx: add "
            f"`location = /readyz {{ proxy_pass http://{PROJECT_NAME.replace('-', '')}_app; }}`"
            " as deploy/nginx/bot.conf does)"
        )
    return False, f"GET {url} -> {status} in {elapsed}: not the webhook app's answer"


LOCAL_POLLER = Checks("lock", "local poller")
REMOTE_POLLER = Checks("lease", "poller elsewhere")
ENDPOINT = Checks("probe", "webhook endpoint")
REGISTER = Checks("register", "registration")
READ_BACK = Checks("verify", "read back")
DELETE = Checks("delete", "webhook")


async def migrate(args: argparse.Namespace) -> Report:
    """Switch the bot from polling to this environment's webhook, keeping pending updates."""
    command = "migrate"
    settings = webhook_settings(args, command)
    if isinstance(settings, Report):
        return settings
    url = settings.webhook_url
    env_flag = f"--env {settings.app_env}"
    report = Report(command, "", none_means=WEBHOOK_NONE_MEANS)
    if not await _ready_to_migrate(report, settings, args.skip_probe):
        return report

    allowed_updates = await configured_allowed_updates(settings)
    async with open_bot(settings) as bot:
        before = await read_webhook_info(bot)
        registration = await ensure_webhook(
            bot, settings, allowed_updates, drop_pending_updates=False
        )
        after = await read_webhook_info(bot)
    report.facts = webhook_facts(after)
    changed = registration.changed
    already = "already set (by an earlier migrate, or the webhook app at its start)"
    report.add(REGISTER.ok(f"setWebhook: {registration.description}" if changed else already))

    if after.url != url:
        report.headline = "Migration not confirmed: Telegram reports another webhook URL."
        report.exit_code = ExitCode.ATTENTION
        report.add(
            READ_BACK.problem(
                f"getWebhookInfo says {after.url or '(none)'}, expected {url}",
                fix="another process changes the webhook (a second deploy, another server on "
                f"this token): python -m bot doctor {env_flag}",
            )
        )
        return report
    pending = after.pending_update_count
    at_switch = f"the {before.pending_update_count} update(s) waiting at the switch go to it"
    shown = f"{at_switch} ({pending} still pending)" if changed else f"{pending} update(s) pending"
    report.add(READ_BACK.ok(f"getWebhookInfo shows {url}; {shown}"))
    report.headline = (
        f"Migrated: Telegram delivers to {url}."
        if changed
        else f"Already migrated: the webhook is {url}; nothing changed."
    )
    report.next_steps = [
        "Stop and disable the old polling service, so it does not start again (a poller "
        "now stops with exit 4, webhook active): e.g. `systemctl disable --now <bot>-polling`.",
        f"Watch the delivery: python -m bot webhook info {env_flag} (pending updates going "
        "down, no last error).",
        f"To go back: python -m bot rollback {env_flag}",
    ]
    return report


async def _no_poller_elsewhere(report: Report, settings: Settings) -> bool:
    """With the shared state: no other host holds the polling lease; otherwise the report
    says who."""
    shared = create_shared_state(settings)
    if shared is None:
        return True
    try:
        held = await shared.lease_holder()
    finally:
        await shared.close()
    if held is None:
        report.add(REMOTE_POLLER.ok("none: the shared polling lease is free"))
        return True
    holder = held.holder
    report.headline = "Migration refused: a poller of this bot runs on another host."
    report.exit_code = ExitCode.LOCKED
    report.add(
        REMOTE_POLLER.problem(
            f"the shared polling lease is held by {holder.describe()} ({holder.command})",
            fix=f"stop that poller on host {holder.host}, then run migrate again",
            details={"pid": holder.pid, "host": holder.host, "command": holder.command},
        )
    )
    return False


async def _ready_to_migrate(report: Report, settings: Settings, skip_probe: bool) -> bool:
    """No local poller, and the webhook endpoint answers; otherwise the report says why."""
    try:
        holder = read_lock_holder(settings.lock_dir, settings.bot_id)
    except LockUnusable as exc:
        report.headline = "Migration refused: the polling lock cannot be checked."
        report.exit_code = ExitCode.ATTENTION
        report.add(LOCAL_POLLER.problem(exc.problem, fix=exc.fix))
        return False
    if holder is not None:
        report.headline = "Migration refused: a poller of this bot runs on this machine."
        report.exit_code = ExitCode.LOCKED
        report.add(
            LOCAL_POLLER.problem(
                f"the polling lock is held by {holder.describe()} ({holder.command})",
                fix=f"{holder_advice(holder, check_holder(holder))}; then run migrate again",
                details={"pid": holder.pid, "host": holder.host, "command": holder.command},
            )
        )
        return False
    report.add(LOCAL_POLLER.ok("none: the polling lock is free"))
    if not await _no_poller_elsewhere(report, settings):
        return False
    if skip_probe:
        report.add(ENDPOINT.skipped("--skip-probe given"))
        return True
    ready, what = await probe_readyz(readyz_url(settings))
    if ready:
        report.add(ENDPOINT.ok(what))
        return True
    report.headline = "Migration not done: the webhook endpoint does not answer."
    report.exit_code = ExitCode.ATTENTION
    report.add(
        ENDPOINT.problem(
            what,
            fix="start the webhook app (systemctl start / docker compose up) and check nginx "
            "and the certificate; or pass --skip-probe if you know better",
        )
    )
    return False


async def rollback(args: argparse.Namespace) -> Report:
    """Switch the bot back to polling: delete the webhook, keeping the pending updates."""
    command = "rollback"
    settings = settings_from_args(args)
    polling_cmd = f"python run.py --env {settings.app_env} --mode polling"
    next_steps = [
        "Stop and disable the webhook app: it receives nothing now, and each time it starts it "
        f"registers the webhook again (e.g. `sudo systemctl disable --now {PROJECT_NAME}`).",
        f"Start polling: {polling_cmd} (or set BOT_MODE=polling in "
        f"{settings.env_file.name if settings.env_file else 'the env file'} and run "
        f"python run.py --env {settings.app_env}); it receives the waiting updates first.",
    ]
    async with open_bot(settings) as bot:
        before = await read_webhook_info(bot)
        if not before.url:
            report = Report(
                command,
                f"Already rolled back: no webhook is set; {before.pending_update_count} "
                "pending update(s) wait for a poller.",
                facts=webhook_facts(before),
                next_steps=next_steps,
                none_means=WEBHOOK_NONE_MEANS,
            )
            report.add(DELETE.ok("already deleted: nothing to do"))
            return report
        await call_with_retry(
            lambda: bot.delete_webhook(drop_pending_updates=False, request_timeout=REQUEST_TIMEOUT),
            "deleteWebhook",
            COMMAND_RETRY,
        )
        after = await read_webhook_info(bot)
    report = Report(
        command,
        "",
        facts=webhook_facts(after),
        next_steps=next_steps,
        none_means=WEBHOOK_NONE_MEANS,
    )
    report.add(DELETE.ok(f"deleteWebhook: {before.url} removed"))
    if after.url:
        report.headline = "Rollback not confirmed: a webhook is set again."
        report.add(
            READ_BACK.problem(
                f"getWebhookInfo shows {after.url}",
                fix="something registers it again (the webhook app's deploy step, another "
                "server on this token): stop it, then run rollback again",
            )
        )
        report.exit_code = ExitCode.ATTENTION
        return report
    pending = after.pending_update_count
    report.add(READ_BACK.ok(f"no webhook; {pending} pending update(s) kept"))
    report.headline = (
        f"Rolled back: the webhook is deleted and {pending} pending update(s) wait for a poller."
    )
    return report
