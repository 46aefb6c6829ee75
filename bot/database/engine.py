"""The engine and the session factory, from DATABASE_URL.

PostgreSQL (asyncpg): each process keeps a pool of its share of DATABASE_MAX_CONNECTIONS
(divided by GUNICORN_WORKERS, at least 2) and opens no more, so that N workers never exceed
what the server was told to expect; connections are checked before use (a restarted server
leaves dead ones behind). SQLite (aiosqlite): the file's folder is created; every connection
uses write-ahead logging (readers never block the writer), waits up to BUSY_TIMEOUT_MS for a
lock instead of failing at once, enforces foreign keys, and starts its transactions with
`BEGIN IMMEDIATE`, so that two concurrent updates queue for the write lock instead of one
failing half-way with "database is locked".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

from bot.settings import Settings

# Milliseconds an SQLite connection waits for another's write to finish before it gives up.
BUSY_TIMEOUT_MS = 10_000
# Seconds a PostgreSQL session waits for a free pooled connection before it fails.
POOL_TIMEOUT = 10.0
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",  # safe with WAL: a power cut loses at most the last commit
)


def create_engine(settings: Settings) -> AsyncEngine:
    """The async engine of DATABASE_URL, its pool sized from the worker count."""
    url = make_url(settings.database_url_value)
    if url.get_backend_name() == "sqlite":
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
        engine = _create_async_engine(url)
        _configure_sqlite(engine)
        return engine
    return _create_async_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT,
        pool_pre_ping=True,
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine`; objects stay readable after the commit (no reload per attribute)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _configure_sqlite(engine: AsyncEngine) -> None:
    # SQLAlchemy's documented recipe for transactional SQLite: let the driver start no
    # transaction of its own and begin each one here (BEGIN IMMEDIATE: see the module's note).
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
