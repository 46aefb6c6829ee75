"""`python run.py [command]` / `python -m bot [command]`: the bot's one command line.

`run` (the default) starts the bot in the mode its configuration selects. Heavy imports
(aiogram) happen only after the configuration is valid, so mistakes are reported at once.
The operators' commands (`doctor`, `webhook info|set|delete`, `migrate`, `rollback`) live in
`bot/commands/`; each prints a report, or one JSON document with `--json`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import PROJECT_ROOT, ConfigError, Settings, load_settings
from bot.exit_codes import ExitCode

Subcommands = argparse._SubParsersAction  # argparse's type for `add_subparsers()`


def add_env_arguments(parser: argparse.ArgumentParser, default: object = None) -> None:
    """The flags every command shares: which environment's configuration to read.

    Subcommands pass `default=argparse.SUPPRESS` so that `--env` given before the command
    name is not reset by the subcommand's own default.
    """
    parser.add_argument(
        "--env",
        choices=("local", "production"),
        default=default,
        help="read .env.<ENV> at the project root (default: $APP_ENV, else local)",
    )
    parser.add_argument(
        "--env-file", metavar="PATH", default=default, help="read this env file instead"
    )


def settings_from_args(
    args: argparse.Namespace, *, root: Path = PROJECT_ROOT, **overrides: str
) -> Settings:
    """Load the settings for a parsed command line; flags win over everything else.
    `root` is the folder holding the `.env.*` files (the project root; tests pass their own)."""
    return load_settings(env=args.env, env_file=args.env_file, overrides=overrides, root=root)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command."""
    parser = argparse.ArgumentParser(
        prog="python run.py",
        description="Run the bot (polling in development, webhook in production) or manage it.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    # `python run.py --env production` means `run --env production`: run's flags work on both.
    _add_run_arguments(parser, None)
    run = commands.add_parser("run", help="run the bot (the default command)")
    _add_run_arguments(run, argparse.SUPPRESS)
    _add_operator_commands(commands)
    return parser


def _add_operator_commands(commands: Subcommands[argparse.ArgumentParser]) -> None:
    _add_command(
        commands,
        "doctor",
        "check everything that makes a bot silent or conflicting; changes nothing "
        "(exit 0 all ok, 6 warnings only, 7 problems)",
    )
    webhook = commands.add_parser("webhook", help="show, set or delete the webhook")
    actions = webhook.add_subparsers(dest="webhook_action", metavar="ACTION", required=True)
    _add_command(actions, "info", "show what Telegram knows about the webhook (getWebhookInfo)")
    _add_command(
        actions, "set", "register the webhook from the configuration (no change if already right)"
    )
    delete = _add_command(actions, "delete", "delete the webhook; pending updates are kept")
    delete.add_argument(
        "--drop-pending-updates",
        action="store_true",
        help="also throw away the updates waiting to be delivered",
    )
    migrate = _add_command(
        commands,
        "migrate",
        "switch this bot from polling to its webhook, safely "
        "(exit 0 done or already, 3 a local poller runs, 7 not done)",
    )
    migrate.add_argument(
        "--skip-probe",
        action="store_true",
        help="do not check first that WEBHOOK_BASE_URL/readyz answers",
    )
    _add_command(
        commands,
        "rollback",
        "switch this bot from the webhook back to polling, keeping pending updates",
    )


def _add_command(
    group: Subcommands[argparse.ArgumentParser], name: str, help_text: str
) -> argparse.ArgumentParser:
    parser = group.add_parser(name, help=help_text, description=help_text)
    add_env_arguments(parser, argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser


def _add_run_arguments(parser: argparse.ArgumentParser, default: object) -> None:
    add_env_arguments(parser, default)
    parser.add_argument(
        "--mode",
        choices=("polling", "webhook"),
        default=default,
        help="override BOT_MODE for this run",
    )
    parser.add_argument(
        "--takeover",
        action="store_true",
        default=False if default is None else default,
        help="polling only: delete an active webhook first (pending updates are kept)",
    )


def run_command(args: argparse.Namespace) -> int:
    """Start the bot; returns the process exit code."""
    overrides = {"BOT_MODE": args.mode} if args.mode else {}
    try:
        settings = settings_from_args(args, **overrides)
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        return ExitCode.CONFIG
    from bot.logs import setup_logging

    setup_logging(settings)
    if settings.bot_mode == "polling":
        from bot.polling import run_polling

        return run_polling(settings, takeover=args.takeover)
    if args.takeover:
        print("--takeover only applies to polling mode.", file=sys.stderr)
        return ExitCode.CONFIG
    from bot.webhook.server import serve_webhook

    return serve_webhook(settings)


def operator_command(args: argparse.Namespace, root: Path = PROJECT_ROOT) -> int:
    """Run doctor / webhook / migrate / rollback, print its report; returns the exit code."""
    # Imported here: they import aiogram, which `run` with a bad configuration should not wait for.
    from bot.commands.report import emit
    from bot.commands.runner import run_operator_command

    report = asyncio.run(run_operator_command(args, root))
    return emit(report, args.json)


def main(argv: Sequence[str] | None = None, root: Path = PROJECT_ROOT) -> int:
    """Parse the command line and run the chosen command. `root` holds the `.env.*` files."""
    args = build_parser().parse_args(argv)
    if args.command in (None, "run"):
        return run_command(args)
    return operator_command(args, root)
