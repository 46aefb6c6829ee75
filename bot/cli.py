"""`python run.py [command]` / `python -m bot [command]`: the bot's one command line.

`run` (the default) starts the bot in the mode its configuration selects. Heavy imports
(aiogram) happen only after the configuration is valid, so mistakes are reported at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.config import ConfigError, Settings, load_settings
from bot.exit_codes import ExitCode


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


def settings_from_args(args: argparse.Namespace, **overrides: str) -> Settings:
    """Load the settings for a parsed command line; flags win over everything else."""
    return load_settings(env=args.env, env_file=args.env_file, overrides=overrides)


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


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    args = build_parser().parse_args(argv)
    if args.command in (None, "run"):
        return run_command(args)
    raise AssertionError(f"unhandled command {args.command}")  # argparse rejects unknown ones
