"""The schema brought to head when a single-process bot starts: the SQLite file of development
is created and upgraded by `python run.py` itself, so a fresh clone needs no extra step."""

from __future__ import annotations

import logging

from bot.database.engine import create_engine
from bot.database.migrations import DatabaseUnreachable, Schema, UserSchema
from bot.settings import Settings

logger = logging.getLogger(__name__)


async def upgrade_on_start(settings: Settings) -> bool:
    """Apply the pending migrations of DATABASE_URL; False (logged) when it did not answer."""
    engine = create_engine(settings)
    schema = Schema(engine, UserSchema.from_settings(settings), settings.masked_database_url)
    try:
        before, after = await schema.upgrade()
    except DatabaseUnreachable as exc:
        logger.error("%s The bot did not start.", exc)
        return False
    finally:
        await engine.dispose()
    if before.current != after.current:
        logger.info(
            "Database %s upgraded from %s to %s.",
            settings.masked_database_url,
            ", ".join(before.current) or "empty",
            ", ".join(after.current),
        )
    return True
