"""Runs one operator command and always ends in a report: configuration mistakes and Bot API
failures become readable reports with their fix, not tracebacks.

A command is an `async def command(args) -> Report` named by `module:function` in the CLI, so
that its module (and aiogram) is imported only when that command runs.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
from collections.abc import Awaitable, Callable

from aiogram.exceptions import TelegramAPIError

from bot.commands.report import Checks, Report, emit
from bot.commands.telegram import describe_api_error
from bot.exit_codes import ExitCode
from bot.settings import ConfigError, Settings, load_settings

Command = Callable[[argparse.Namespace], Awaitable[Report]]


def command_name(args: argparse.Namespace) -> str:
    """`doctor`, `webhook delete`, `migrate`..."""
    if args.command == "webhook":
        return f"webhook {args.webhook_action}"
    if args.command == "db":
        return f"db {args.db_action}"
    return str(args.command)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The settings for the command line's --env / --env-file; ConfigError if they do not load."""
    return load_settings(env=args.env, env_file=args.env_file, root=args.root)


def run_command(target: str, args: argparse.Namespace) -> int:
    """Run the command `module:function`, print its report; returns the exit code."""
    module, _, function = target.partition(":")
    command: Command = getattr(importlib.import_module(module), function)
    report = asyncio.run(_reported(command, args))
    return emit(report, args.json)


async def _reported(command: Command, args: argparse.Namespace) -> Report:
    name = command_name(args)
    try:
        return await command(args)
    except ConfigError as exc:
        return config_refusal(name, exc.problems, f"{name}: the configuration does not load")
    except TelegramAPIError as exc:
        what, fix = describe_api_error(exc)
        report = Report(name, f"{name} failed: {what}.", exit_code=ExitCode.ATTENTION)
        report.add(Checks("bot_api", "Bot API").problem(what, fix=fix))
        return report


def config_refusal(command: str, problems: list[str], why: str | None = None) -> Report:
    """The report of a command that cannot run with this configuration (exit 2)."""
    headline = f"{why or command}, nothing was changed."
    report = Report(command, headline, exit_code=ExitCode.CONFIG)
    config = Checks("config", "configuration")
    for problem in problems:
        report.add(config.problem(problem))
    return report
