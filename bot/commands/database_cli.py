"""The `db` commands of `python -m bot` (bot/cli.py adds them when this module is present)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

Subcommands = argparse._SubParsersAction  # argparse's type for `add_subparsers()`
AddCommand = Callable[..., argparse.ArgumentParser]


def add_commands(commands: Subcommands[argparse.ArgumentParser], add_command: AddCommand) -> None:
    """Add `db upgrade | downgrade | current | revision` to the CLI's commands."""
    database = commands.add_parser("db", help="the database's schema: migrations")
    actions = database.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    upgrade = add_command(
        actions,
        "upgrade",
        "bot.commands.database:db_upgrade",
        "apply the migrations up to REVISION (default: head); once, however many hosts run it",
    )
    upgrade.add_argument("revision", nargs="?", default="head", metavar="REVISION")
    downgrade = add_command(
        actions,
        "downgrade",
        "bot.commands.database:db_downgrade",
        "revert migrations down to REVISION (-1: the last one, base: all; may drop data)",
    )
    downgrade.add_argument("revision", metavar="REVISION")
    add_command(
        actions,
        "current",
        "bot.commands.database:db_current",
        "show the database's revision and the migrations' head",
    )
    revision = add_command(
        actions,
        "revision",
        "bot.commands.database:db_revision",
        "write a new migration script to handlers/migrations/versions/ from the models' changes",
    )
    revision.add_argument("-m", "--message", required=True, help="what the migration does")
    revision.add_argument(
        "--empty", action="store_true", help="an empty script to fill in (no comparison)"
    )
