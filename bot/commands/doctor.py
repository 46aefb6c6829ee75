"""`python -m bot doctor`: every usual cause of `TelegramConflictError` and of a silent bot,
checked in one go, each reported as ok / warning / problem with its fix.

It never changes anything: it reads files, the polling lock, the process list and a running
bot's /metrics, and calls only getMe and getWebhookInfo. A configuration that does not load
still gets every check that can run without the broken values.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util

from bot.commands.api_checks import (
    TOKEN,
    WEBHOOK,
    add_reachability,
    add_token_check,
    add_webhook_checks,
)
from bot.commands.checks import (
    check_config,
    check_env_permissions,
    check_environment,
    check_flood_control,
    check_same_token,
    check_webhook_secret,
    check_webhook_url,
)
from bot.commands.context import DoctorContext
from bot.commands.instances import check_lock, check_processes
from bot.commands.metrics_check import check_metrics
from bot.commands.report import Report
from bot.commands.shared_state import add_shared_state_checks
from bot.commands.telegram import open_bot
from bot.settings import mask_token

# Optional checks, each `check(ctx) -> Check` in a module that a project may not have (the
# database option's): present, they run after the shared state's.
OPTIONAL_CHECKS = ("bot.commands.database_check",)


async def doctor(args: argparse.Namespace) -> Report:
    """Run every check for the environment named on the command line."""
    ctx = DoctorContext.from_args(args)
    config = ctx.config
    token = mask_token(ctx.token) if ctx.token else "(no usable token)"
    report = Report(
        "doctor",
        f"Doctor for bot {token}, {config.app_env} environment, {config.bot_mode} mode "
        "(read-only: nothing is changed)",
    )
    for check in check_config(ctx):
        report.add(check)
    report.add(check_environment(ctx))

    reachable = await add_reachability(report, ctx)
    if reachable and ctx.token is not None:
        async with open_bot(config) as bot:
            if await add_token_check(report, bot):
                await add_webhook_checks(report, bot, ctx)
    else:
        why = "no usable BOT_TOKEN" if ctx.token is None else "the Bot API server is unreachable"
        report.add(TOKEN.skipped(f"getMe not called: {why}"))
        report.add(WEBHOOK.skipped(f"getWebhookInfo not called: {why}"))

    await add_shared_state_checks(report, ctx)
    for name in OPTIONAL_CHECKS:
        if importlib.util.find_spec(name) is not None:
            report.add(await importlib.import_module(name).check(ctx))
    report.add(check_flood_control(ctx))
    lock_check, holder = check_lock(ctx)
    report.add(lock_check)
    report.add(check_processes(ctx, holder))
    report.add(await check_metrics(ctx))
    report.add(check_same_token(ctx))
    report.add(check_env_permissions(ctx))
    report.add(check_webhook_url(ctx))
    report.add(check_webhook_secret(ctx))
    report.exit_code = report.exit_code_from_checks()
    return report
