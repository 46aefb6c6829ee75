"""`python -m bot db upgrade | downgrade | current | revision -m "..."`: the schema's migrations.

Each prints a report (or one JSON document with `--json`): the database (its password masked),
its revision before and after, and the next step. Exit codes: 0 done, 2 the configuration
does not load, 7 the database did not answer or the migration failed.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.commands.report import Check, Checks, Report
from bot.commands.runner import settings_from_args
from bot.database import DatabaseUnreachable, Schema, UserSchema, create_engine
from bot.database.migrations import Revisions
from bot.exit_codes import ExitCode
from bot.settings import Settings

DATABASE = Checks("database", "database")
SCHEMA = Checks("schema", "schema")
NONE_MEANS = {"revision": "none (an empty database)", "heads": "none (no migrations)"}


@asynccontextmanager
async def open_schema(settings: Settings) -> AsyncIterator[Schema]:
    """The migration commands of DATABASE_URL, its engine closed after."""
    engine = create_engine(settings)
    try:
        yield Schema(engine, UserSchema.from_settings(settings), settings.masked_database_url)
    finally:
        await engine.dispose()


def revision_check(revisions: Revisions, env_flag: str) -> Check:
    """ok at head; a warning naming the upgrade command otherwise."""
    current = ", ".join(revisions.current) or "none"
    if revisions.at_head:
        return SCHEMA.ok(f"at head ({current})", details={"revision": list(revisions.current)})
    heads = ", ".join(revisions.heads) or "none"
    return SCHEMA.warning(
        f"at {current}, the migrations' head is {heads}",
        fix=f"python -m bot db upgrade {env_flag}",
        details={"revision": list(revisions.current), "heads": list(revisions.heads)},
    )


async def db_current(args: argparse.Namespace) -> Report:
    """`db current`: the database's revision beside the migrations' head."""
    settings = settings_from_args(args)
    report = _report("db current", settings)
    async with open_schema(settings) as schema:
        try:
            revisions = await schema.revisions()
        except DatabaseUnreachable as exc:
            return _unreachable(report, exc)
    report.add(DATABASE.ok(f"{settings.masked_database_url} answers"))
    report.add(revision_check(revisions, _env_flag(settings)))
    report.headline = f"Database at {', '.join(revisions.current) or 'no revision'}."
    _facts(report, revisions)
    return report


async def db_upgrade(args: argparse.Namespace) -> Report:
    """`db upgrade [REVISION]`: apply the migrations (to head by default)."""
    settings = settings_from_args(args)
    report = _report("db upgrade", settings)
    async with open_schema(settings) as schema:
        try:
            before, after = await schema.upgrade(args.revision)
        except DatabaseUnreachable as exc:
            return _unreachable(report, exc)
    return _changed(report, before, after, "Upgraded", "Already at")


async def db_downgrade(args: argparse.Namespace) -> Report:
    """`db downgrade REVISION`: revert migrations (`-1` the last one, `base` all of them)."""
    settings = settings_from_args(args)
    report = _report("db downgrade", settings)
    async with open_schema(settings) as schema:
        try:
            before, after = await schema.downgrade(args.revision)
        except DatabaseUnreachable as exc:
            return _unreachable(report, exc)
    report = _changed(report, before, after, "Downgraded", "Already at")
    report.next_steps = [
        "Deploy the code that matches this revision before the bot starts again: a bot "
        f"started now upgrades an SQLite database back to head (python -m bot db current "
        f"{_env_flag(settings)})."
    ]
    return report


async def db_revision(args: argparse.Namespace) -> Report:
    """`db revision -m MESSAGE`: write a new migration script from the models' changes."""
    settings = settings_from_args(args)
    report = _report("db revision", settings)
    async with open_schema(settings) as schema:
        if schema.versions is None:
            report.exit_code = ExitCode.CONFIG
            report.headline = (
                f"HANDLERS_MODULE={settings.handlers_module} is a single module, so it has no "
                "migrations folder: make it a package (a folder with __init__.py)."
            )
            return report
        try:
            revisions = await schema.revisions()
            if not revisions.at_head and not args.empty:
                report.add(revision_check(revisions, _env_flag(settings)))
                report.exit_code = ExitCode.ATTENTION
                report.headline = (
                    "Not written: the database is behind the migrations, so the models would "
                    "be compared with an old schema. Upgrade it first."
                )
                return report
            path = await schema.revision(args.message, autogenerate=not args.empty)
        except DatabaseUnreachable as exc:
            return _unreachable(report, exc)
    report.headline = f"Wrote {path}."
    report.facts["script"] = str(path)
    report.next_steps = [
        f"Read {path.name}: check every operation it lists (a rename reads as drop + add).",
        f"Apply it here: python -m bot db upgrade {_env_flag(settings)}",
        "Commit it with the model change; the deploy applies it before the new workers serve.",
    ]
    return report


def _report(command: str, settings: Settings) -> Report:
    report = Report(command, "", none_means=NONE_MEANS)
    report.facts["database"] = settings.masked_database_url
    return report


def _facts(report: Report, revisions: Revisions) -> None:
    report.facts["revision"] = list(revisions.current) or None
    report.facts["heads"] = list(revisions.heads) or None


def _changed(
    report: Report, before: Revisions, after: Revisions, done: str, already: str
) -> Report:
    old, new = ", ".join(before.current) or "none", ", ".join(after.current) or "none"
    report.headline = f"{done} from {old} to {new}." if old != new else f"{already} {new}."
    _facts(report, after)
    return report


def _unreachable(report: Report, exc: DatabaseUnreachable) -> Report:
    report.add(DATABASE.problem(str(exc), fix="start the database, or correct DATABASE_URL"))
    report.headline = f"{report.command} failed: the database did not answer; nothing changed."
    report.exit_code = ExitCode.ATTENTION
    return report


def _env_flag(settings: Settings) -> str:
    return f"--env {settings.app_env}"
