"""`python run.py [command]` / `python -m bot [command]`: the bot's one command line.

`run` (the default) starts the bot in the mode its configuration selects. The operators'
commands (`doctor`, `webhook info|set|delete`, `migrate`, `rollback`) live in `bot/commands/`;
each prints a report, or one JSON document with `--json`. Heavy imports (aiogram) happen only
once the chosen command runs, so `python run.py` reports a bad configuration at once.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from bot.exit_codes import ExitCode
from bot.reload.warm_parent import warm_parent_fd
from bot.runtime.single_poller.supervised import supervised_overrides
from bot.settings import PROJECT_ROOT, ConfigError, Settings, load_settings

Handler = Callable[[argparse.Namespace], int]
Subcommands = argparse._SubParsersAction  # argparse's type for `add_subparsers()`
StartBot = Callable[[Settings], int]
Supervise = Callable[[Settings, Mapping[str, Any] | None], int]
# Optional modules that add flags to `run` and may run the bot their own way (the sandbox's).
# A project generated without the sandbox has no such file (copier excludes it): no flag.
RUN_EXTENSIONS = ("bot.sandbox_mode",)
# Optional modules that add commands (the database's `db`): absent in a project without them.
COMMAND_EXTENSIONS = ("bot.commands.database_cli",)


class RunExtension(Protocol):
    """What an optional module of RUN_EXTENSIONS provides (bot/sandbox_mode.py does)."""

    def add_run_arguments(self, parser: argparse.ArgumentParser, default: object) -> None:
        """Add its flags to `run` (`default`: as `_add_run_arguments` gets it)."""

    def run_instead(
        self, args: argparse.Namespace, start_bot: StartBot, supervise: Supervise
    ) -> int | None:
        """Run the bot its way when its flags ask for it (the exit code), else None."""


def _present(names: Sequence[str]) -> list[Any]:
    """Those of the optional modules `names` that this project has, imported."""
    present = [name for name in names if importlib.util.find_spec(name) is not None]
    return [importlib.import_module(name) for name in present]


def run_extensions() -> list[RunExtension]:
    """The modules of RUN_EXTENSIONS this project has, imported."""
    extensions: list[RunExtension] = _present(RUN_EXTENSIONS)
    return extensions


def run_bot(args: argparse.Namespace) -> int:
    """`run`: start the bot in its configured mode; returns the process exit code."""
    if args.reload:
        from bot.reload import refused_mode

        if refused_mode(args.mode):  # before an extension (the sandbox) announces a webhook app
            return ExitCode.CONFIG
    for extension in run_extensions():
        code = extension.run_instead(args, start_bot, partial(supervise, args))
        if code is not None:
            return code
    # A bot run by `--reload` gets the supervisor's flags (the sandbox's) this way.
    overrides = supervised_overrides()
    if args.mode:
        overrides["bot_mode"] = args.mode
    try:
        settings = load_settings(
            env=args.env, env_file=args.env_file, overrides=overrides, root=args.root
        )
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        return ExitCode.CONFIG
    if args.reload:
        return supervise(args, settings)
    return start_bot(settings, takeover=args.takeover)


def supervise(
    args: argparse.Namespace, settings: Settings, overrides: Mapping[str, Any] | None = None
) -> int:
    """`--reload`: run the bot under a supervisor that restarts it on every change;
    `overrides` are settings flags its every run gets (the sandbox's)."""
    from bot.reload import run_reload

    return run_reload(args, settings, overrides)


def start_bot(settings: Settings, *, takeover: bool = False) -> int:
    """Set up logging, then poll or serve the webhook, as the settings say; the exit code."""
    if settings.bot_mode == "webhook" and takeover:
        print("--takeover only applies to polling mode.", file=sys.stderr)
        return ExitCode.CONFIG
    from bot.logs import setup_logging

    # A poller opens LOG_FILE once it holds the lock (see bot.logs.setup_logging).
    setup_logging(settings, log_file=settings.bot_mode != "polling")
    if settings.bot_mode == "polling":
        from bot.polling.process import run_polling

        return run_polling(settings, takeover=takeover)
    from bot.webhook.process import serve_webhook

    return serve_webhook(settings)


def operator(target: str) -> Handler:
    """The handler of an operator command: `module:function`, imported when it runs."""

    def handler(args: argparse.Namespace) -> int:
        from bot.commands.runner import run_command

        return run_command(target, args)

    return handler


def build_parser(root: Path = PROJECT_ROOT) -> argparse.ArgumentParser:
    """The argument parser with every command; `root` holds the `.env.*` files."""
    parser = argparse.ArgumentParser(
        prog="python run.py",
        description="Run the bot (polling in development, webhook in production) or manage it.",
    )
    # `python run.py --env production` means `run --env production`: run's flags work on both.
    _add_run_arguments(parser, None)
    parser.set_defaults(handler=run_bot, command="run", root=root)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser("run", help="run the bot (the default command)")
    _add_run_arguments(run, argparse.SUPPRESS)
    _add_operator_commands(commands)
    return parser


def _add_operator_commands(commands: Subcommands[argparse.ArgumentParser]) -> None:
    _add_command(
        commands,
        "doctor",
        "bot.commands.doctor:doctor",
        "check everything that makes a bot silent or conflicting; changes nothing "
        "(exit 0 all ok, 6 warnings only, 7 problems)",
    )
    webhook = commands.add_parser("webhook", help="show, set or delete the webhook")
    actions = webhook.add_subparsers(dest="webhook_action", metavar="ACTION", required=True)
    _add_command(
        actions,
        "info",
        "bot.commands.webhook:webhook_info",
        "show what Telegram knows about the webhook (getWebhookInfo)",
    )
    _add_command(
        actions,
        "set",
        "bot.commands.webhook:webhook_set",
        "register the webhook from the configuration (no change if already right)",
    )
    delete = _add_command(
        actions,
        "delete",
        "bot.commands.webhook:webhook_delete",
        "delete the webhook; pending updates are kept",
    )
    delete.add_argument(
        "--drop-pending-updates",
        action="store_true",
        help="also throw away the updates waiting to be delivered",
    )
    migrate = _add_command(
        commands,
        "migrate",
        "bot.commands.migrate:migrate",
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
        "bot.commands.migrate:rollback",
        "switch this bot from the webhook back to polling, keeping pending updates",
    )
    for extension in _present(COMMAND_EXTENSIONS):
        extension.add_commands(commands, _add_command)


def _add_env_arguments(parser: argparse.ArgumentParser, default: object) -> None:
    # Subcommands pass default=argparse.SUPPRESS so that `--env` given before the command
    # name is not reset by the subcommand's own default.
    parser.add_argument(
        "--env",
        choices=("local", "production"),
        default=default,
        help="read .env.<ENV> at the project root (default: $APP_ENV, else local)",
    )
    parser.add_argument(
        "--env-file", metavar="PATH", default=default, help="read this env file instead"
    )


def _add_command(
    group: Subcommands[argparse.ArgumentParser], name: str, target: str, help_text: str
) -> argparse.ArgumentParser:
    parser = group.add_parser(name, help=help_text, description=help_text)
    _add_env_arguments(parser, argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(handler=operator(target))
    return parser


def _add_run_arguments(parser: argparse.ArgumentParser, default: object) -> None:
    _add_env_arguments(parser, default)
    parser.add_argument(
        "--mode",
        choices=("polling", "webhook"),
        default=default,
        help="override BOT_MODE for this run",
    )
    flag = False if default is None else default
    parser.add_argument(
        "--takeover",
        action="store_true",
        default=flag,
        help="polling only: delete an active webhook first (pending updates are kept)",
    )
    for extension in run_extensions():
        extension.add_run_arguments(parser, default)
    parser.add_argument(
        "--reload",
        action="store_true",
        default=flag,
        help="polling only: restart the bot when a Python file, handlers/ or the env file changes",
    )


def main(argv: Sequence[str] | None = None, root: Path = PROJECT_ROOT) -> int:
    """Parse the command line and run the chosen command. `root` holds the `.env.*` files."""
    if (report_fd := warm_parent_fd()) is not None:
        from bot.reload.warm_parent import serve_forks

        serve_forks(report_fd)  # `--reload`'s warm parent: returns only in each forked bot
    args = build_parser(root).parse_args(argv)
    handler: Handler = args.handler
    return handler(args)
