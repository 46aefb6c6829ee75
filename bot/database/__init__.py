"""The bot's database: the engine and sessions (`engine.py`), the process's `Database` and its
per-update sessions (`session.py`: imported by the runtime alone, it needs aiogram) and the
schema's migrations (`migrations.py`), made from the settings.

The runtime owns the engine and runs the migrations; the models and the migration scripts are
the user's, in HANDLERS_MODULE (`handlers/models.py`, `handlers/migrations/versions/`), found
through that setting and never imported by name.
"""

from bot.database.engine import create_engine, create_session_factory
from bot.database.migrations import DatabaseUnreachable, Schema, UserSchema

__all__ = [
    "DatabaseUnreachable",
    "Schema",
    "UserSchema",
    "create_engine",
    "create_session_factory",
]
