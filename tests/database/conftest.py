"""The database tests run on both engines: SQLite (a file of the test's own) and a real
PostgreSQL (a database of the test's own, on this test process's server)."""

from __future__ import annotations

from pathlib import Path

import pytest

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """DATABASE_URL of an empty database, once per engine."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
