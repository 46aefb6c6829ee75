"""The doctor's check of the database: does it answer, and is its schema at head."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from bot.commands.context import DoctorContext
from bot.commands.database import DATABASE, open_schema, revision_check
from bot.commands.report import Check
from bot.database import DatabaseUnreachable


async def check(ctx: DoctorContext) -> Check:
    """ok when DATABASE_URL answers at head; a warning behind it; a problem unreachable."""
    config = ctx.config
    if not ctx.usable("database_url"):
        return DATABASE.skipped("DATABASE_URL is not usable (see the configuration above)")
    env_flag = f"--env {config.app_env}"
    if (path := missing_sqlite_file(ctx)) is not None:
        created_by = (
            "`python run.py` creates and upgrades it at start"
            if config.bot_mode == "polling"
            else f"python -m bot db upgrade {env_flag}"
        )
        return DATABASE.ok(f"the SQLite file {path} does not exist yet; {created_by}")
    async with open_schema(config) as schema:
        try:
            revisions = await schema.revisions()
        except DatabaseUnreachable as exc:
            fix = "start the database or correct DATABASE_URL, then run the doctor again"
            return DATABASE.problem(str(exc), fix=fix)
    check = revision_check(revisions, env_flag)
    where = config.masked_database_url
    if check.status == "ok":
        return DATABASE.ok(f"{where} answers, {check.summary}", details=check.details)
    return DATABASE.warning(
        f"{where} answers, but is {check.summary}", fix=check.fix or "", details=check.details
    )


def missing_sqlite_file(ctx: DoctorContext) -> Path | None:
    """The SQLite file DATABASE_URL names, when it does not exist (looked at, not created:
    the doctor changes nothing)."""
    if not ctx.config.uses_sqlite:
        return None
    path = Path(make_url(ctx.config.database_url_value).database or "")
    return None if path.is_file() else path
