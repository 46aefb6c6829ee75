"""DATABASE_URL: SQLite in the project by default, PostgreSQL accepted, its password never
shown, and SQLite refused where several processes would write it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT, ConfigError, load_settings

TOKEN = "123456789:AAH-secret_part_of_the_token"
PRODUCTION = {
    "APP_ENV": "production",
    "WEBHOOK_BASE_URL": "https://bot.example.com",
    "WEBHOOK_SECRET": "s" * 32,
}


def load(tmp_path: Path, **values: str) -> object:
    return load_settings(overrides={"BOT_TOKEN": TOKEN, **values}, root=tmp_path, environment=False)


def test_the_default_database_is_an_sqlite_file_in_the_projects_data_folder(
    tmp_path: Path,
) -> None:
    settings = load(tmp_path)
    assert settings.database_url_value == (  # type: ignore[attr-defined]
        f"sqlite+aiosqlite:///{PROJECT_ROOT / 'data' / 'bot.sqlite3'}"
    )


def test_a_postgresql_password_is_a_secret_and_masked_in_messages(tmp_path: Path) -> None:
    settings = load(tmp_path, DATABASE_URL="postgresql+asyncpg://bot:pa%21ss@db:5432/bot")
    assert {"pa%21ss", "pa!ss"} <= set(settings.secrets())  # type: ignore[attr-defined]
    assert settings.masked_database_url == "postgresql+asyncpg://bot:***@db:5432/bot"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, DATABASE_URL="mysql://bot:pa%21ss@db/bot")
    assert (
        "pa%21ss" not in refused.value.report()
        and "postgresql+asyncpg://" in refused.value.report()
    )


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"GUNICORN_WORKERS": "2"}, "2 gunicorn workers"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/0", **PRODUCTION}, "REDIS_URL"),
    ],
)
def test_sqlite_with_several_writers_is_refused_with_the_fix(
    tmp_path: Path, values: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, **values)
    report = refused.value.report()
    assert named in report and "postgresql+asyncpg://" in report and "WEB_CONCURRENCY=1" in report
    # The same with PostgreSQL loads, its pool a share of DATABASE_MAX_CONNECTIONS.
    settings = load(tmp_path, DATABASE_URL="postgresql+asyncpg://bot:pw@db/bot", **values)
    assert settings.database_pool_size >= 2  # type: ignore[attr-defined]


def test_redis_in_development_keeps_sqlite(tmp_path: Path) -> None:
    load(tmp_path, REDIS_URL="redis://127.0.0.1:6379/0")
