"""`python -m bot doctor`: every usual cause of `TelegramConflictError` and of a silent bot,
checked in one go, each reported as ok / warning / problem with its fix.

It never changes anything: it reads files, the polling lock and the process list, and calls
only getMe and getWebhookInfo. A configuration that does not load still gets every check that
can run without it.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

from bot.cli import settings_from_args
from bot.commands.api_checks import add_reachability, add_token_check, add_webhook_checks
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
from bot.commands.report import Check, Report
from bot.commands.telegram import open_bot
from bot.config import ConfigError, resolve_env_file
from bot.settings import Settings, mask_token


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

    reachable = await add_reachability(report, ctx)
    if reachable and ctx.token is not None and ctx.api_url is not None:
        api_settings = ctx.settings or Settings(
            bot_token=SecretStr(ctx.token), telegram_api_url=ctx.api_url
        )
        async with open_bot(api_settings) as bot:
            if await add_token_check(report, bot):
                await add_webhook_checks(report, bot, ctx)
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
