"""Runs one operator command for a parsed command line and always returns a report:
configuration mistakes and Bot API failures become readable reports, not tracebacks."""

from __future__ import annotations

import argparse
from pathlib import Path

from aiogram.exceptions import TelegramAPIError

from bot.cli import settings_from_args
from bot.commands.report import Check, CommandExit, Report
from bot.commands.telegram import describe_api_error
from bot.config import ConfigError


def command_name(args: argparse.Namespace) -> str:
    """`doctor`, `webhook delete`, `migrate`..."""
    if args.command == "webhook":
        return f"webhook {args.webhook_action}"
    return str(args.command)


async def run_operator_command(args: argparse.Namespace, root: Path) -> Report:
    """The report of `doctor`, `webhook info|set|delete`, `migrate` or `rollback`."""
    name = command_name(args)
    if name == "doctor":
        from bot.commands.doctor import doctor

        return await doctor(args, root)
    try:
        settings = settings_from_args(args, root=root)
    except ConfigError as exc:
        report = Report(
            name,
            f"{name}: the configuration does not load, nothing was changed.",
            exit_code=CommandExit.CONFIG,
        )
        for problem in exc.problems:
            report.add(Check("config", "configuration", "problem", problem))
        return report

    from bot.commands import migrate, webhook

    try:
        if name == "webhook info":
            return await webhook.webhook_info(settings)
        if name == "webhook set":
            return await webhook.webhook_set(settings)
        if name == "webhook delete":
            return await webhook.webhook_delete(settings, args.drop_pending_updates)
        if name == "migrate":
            return await migrate.migrate(settings, skip_probe=args.skip_probe)
        if name == "rollback":
            return await migrate.rollback(settings)
    except TelegramAPIError as exc:
        what, fix = describe_api_error(exc)
        report = Report(name, f"{name} failed: {what}.", exit_code=CommandExit.ATTENTION)
        report.add(Check("bot_api", "Bot API", "problem", what, fix=fix))
        return report
    raise AssertionError(f"unhandled command {name}")  # argparse accepts no other
