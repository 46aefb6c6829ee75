"""`Database`: the engine a process owns, and the sessions handlers receive, one transaction
each: committed when the handler returns, rolled back when it raises.

When the database does not answer, a session does not open: it raises `DatabaseUnavailable`,
the shared state's kind of "unavailable", after asking for the update to come again (the
webhook answers 503, the poller does not confirm it), so Telegram delivers it again once the
database is back. The outage is logged once when it starts and once when it ends, counted on
/metrics (`telegram_bot_database_unavailable`), and while it lasts each session waits a
moment (growing to OUTAGE_PAUSE_MAX) before it tries, so that redeliveries do not spin.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.database.engine import create_engine, create_session_factory
from bot.runtime.observability.metrics import count_database_unavailable
from bot.runtime.updates.dedup import SharedStateUnavailable
from bot.runtime.updates.redelivery import ask_for_redelivery
from bot.settings import Settings

logger = logging.getLogger(__name__)

# Seconds a session waits before trying a database that did not answer last time: doubled
# per failure up to OUTAGE_PAUSE_MAX, so that an update redelivered at once waits its turn.
OUTAGE_PAUSE_MIN = 0.5
OUTAGE_PAUSE_MAX = 5.0
# Raised by SQLAlchemy when the server is gone, restarting, or out of connections; a driver's
# own OSError (connection refused) counts only where the session connects, since a handler's
# OSError (its HTTP client's) says nothing about the database.
UNREACHABLE: tuple[type[BaseException], ...] = (OperationalError, PoolTimeout)


class DatabaseUnavailable(SharedStateUnavailable):
    """The database did not answer: the update being handled is delivered again. The shared
    state's own "unavailable", so that both modes treat it the same way (and the handlers'
    error handler sends no apology for an update that will come again)."""


def is_unreachable(exc: BaseException, *, connecting: bool = False) -> bool:
    """Whether `exc` says the database could not be reached (not a mistake in a query);
    `connecting`: raised while the session connected or committed."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, UNREACHABLE) or (connecting and isinstance(exc, OSError))


class DatabaseOutage:
    """Logs an outage once when it starts and once when it ends; paces the tries meanwhile."""

    def __init__(self, masked_url: str) -> None:
        self.url = masked_url
        self.since: float | None = None
        self.pause = 0.0

    def failed(self, exc: BaseException) -> str:
        """A session could not reach the database: the reason, logged at the first failure."""
        cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        reason = f"the database at {self.url} did not answer ({type(cause).__name__})"
        count_database_unavailable()
        if self.since is None:
            self.since = time.monotonic()
            logger.warning(
                "%s: %s. Updates are not taken until it is back (webhook: 503, Telegram "
                "retries; polling: not confirmed, fetched again). Check that it runs and that "
                "DATABASE_URL names it.",
                reason[0].upper() + reason[1:],
                str(cause).strip().splitlines()[0] if str(cause).strip() else "no detail",
            )
        self.pause = min(OUTAGE_PAUSE_MAX, max(OUTAGE_PAUSE_MIN, self.pause * 2))
        return reason

    def succeeded(self) -> None:
        """A session reached the database: close the outage, if there was one."""
        if self.since is not None:
            logger.info(
                "The database at %s is back after %.0f s.", self.url, time.monotonic() - self.since
            )
            self.since = None
            self.pause = 0.0


class Database:
    """The engine of DATABASE_URL (owned by the process's `BotRuntime`, closed by it) and the
    sessions it opens."""

    def __init__(self, settings: Settings, engine: AsyncEngine | None = None) -> None:
        """`engine` replaces the one made from the settings (a benchmark's own)."""
        self.engine = engine or create_engine(settings)
        self.sessions: async_sessionmaker[AsyncSession] = create_session_factory(self.engine)
        self.outage = DatabaseOutage(settings.masked_database_url)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block returns, rolled back when it raises;
        `DatabaseUnavailable` (the update comes again) when the database does not answer."""
        if self.outage.pause:
            await asyncio.sleep(self.outage.pause)
        async with self.sessions() as session:
            try:
                # Connect and begin here, not at the handler's first query: a database that is
                # down fails before the handler did anything it would have to undo.
                await session.connection()
            except Exception as exc:
                self._raise_if_unreachable(exc, connecting=True)
                raise
            self.outage.succeeded()
            try:
                yield session
            except BaseException as exc:
                await _rollback(session)
                self._raise_if_unreachable(exc)
                raise
            try:
                await session.commit()
            except Exception as exc:
                self._raise_if_unreachable(exc, connecting=True)
                raise

    async def close(self) -> None:
        """Close the pool's connections (the last step of the runtime's database)."""
        await self.engine.dispose()

    def _raise_if_unreachable(self, exc: BaseException, *, connecting: bool = False) -> None:
        if isinstance(exc, SharedStateUnavailable):
            return  # a DatabaseUnavailable already (a nested session's), or the shared state's
        if not is_unreachable(exc, connecting=connecting):
            return
        reason = self.outage.failed(exc)
        ask_for_redelivery(reason)
        raise DatabaseUnavailable(reason) from exc


async def _rollback(session: AsyncSession) -> None:
    # The rollback of a connection that died fails too; the original error is what matters.
    try:
        await session.rollback()
    except Exception as exc:
        if not is_unreachable(exc):
            raise
