"""The schema's migrations, on SQLite and on a real PostgreSQL: every revision goes up, down
and up again (the stairway); the models and the migrations describe the same schema; two
hosts deploying at once migrate once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from bot.database import Schema, UserSchema, create_engine
from bot.settings import Settings, load_settings


def settings_for(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        overrides={"BOT_TOKEN": "123:TEST", "DATABASE_URL": database_url},
        root=tmp_path,
        environment=False,
    )


@pytest.fixture
async def schema(database_url: str, tmp_path: Path) -> AsyncIterator[Schema]:
    settings = settings_for(database_url, tmp_path)
    engine = create_engine(settings)
    yield Schema(engine, UserSchema.from_settings(settings), settings.masked_database_url)
    await engine.dispose()


def revisions_oldest_first(schema: Schema) -> list[str]:
    assert schema.versions is not None
    config = schema._config()
    walked = ScriptDirectory.from_config(config).walk_revisions("base", "heads")
    return [script.revision for script in reversed(list(walked))]


async def tables(schema: Schema) -> set[str]:
    def names(connection: Connection) -> set[str]:
        return set(inspect(connection).get_table_names()) - {"alembic_version"}

    return await schema._run(names)


async def test_every_revision_upgrades_downgrades_and_upgrades_again(schema: Schema) -> None:
    revisions = revisions_oldest_first(schema)
    assert revisions, "the template ships at least one migration"
    previous = "base"
    for revision in revisions:
        await schema.upgrade(revision)
        after_first = await tables(schema)
        _, down = await schema.downgrade(previous)
        assert down.current == (() if previous == "base" else (previous,))
        _, up = await schema.upgrade(revision)
        assert up.current == (revision,)
        assert await tables(schema) == after_first
        previous = revision
    _, empty = await schema.downgrade("base")
    assert empty.current == () and await tables(schema) == set()


async def test_the_models_and_the_migrations_describe_the_same_schema(
    schema: Schema, database_url: str, tmp_path: Path
) -> None:
    await schema.upgrade()
    metadata = UserSchema.from_settings(settings_for(database_url, tmp_path)).metadata
    assert metadata is not None

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    assert await schema._run(differences) == [], (
        "the models differ from the migrations: run `python -m bot db revision -m ...`"
    )


async def test_two_hosts_upgrading_at_once_migrate_once(database_url: str, tmp_path: Path) -> None:
    settings = settings_for(database_url, tmp_path)
    engines = [create_engine(settings) for _ in range(2)]
    try:
        hosts = [
            Schema(engine, UserSchema.from_settings(settings), settings.masked_database_url)
            for engine in engines
        ]
        results = await asyncio.gather(*(host.upgrade() for host in hosts))
    finally:
        for engine in engines:
            await engine.dispose()
    heads = hosts[0].heads()
    assert all(after.current == heads for _, after in results)
    # One of them applied the migrations; the other, waiting for it, found them applied.
    assert sorted(before.current for before, _ in results) == [(), heads]
