"""Your bot's tables: SQLAlchemy models on `Base`. The runtime finds them here (as
`<HANDLERS_MODULE>.models.Base`) to write migrations: after changing a model, run
`python -m bot db revision -m "what changed"` and read the script it writes to
`handlers/migrations/versions/` (docs/database.md).

The template records every user and chat it sees, and whether the bot may still write to them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, MetaData, String, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Constraints named the same way on SQLite and PostgreSQL, so that a migration can name the
# one it changes (SQLite's batch mode needs the names).
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The base of your models: their tables are in `Base.metadata`."""

    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    """A Telegram user who wrote to the bot."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(256))
    username: Mapped[str | None] = mapped_column(String(64))
    language_code: Mapped[str | None] = mapped_column(String(16))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The user blocked the bot (a my_chat_member update, or 403 on a message): skip them.
    blocked: Mapped[bool] = mapped_column(default=False, server_default=false())


class Chat(Base):
    """A chat the bot is in: a private chat, a group, a supergroup or a channel."""

    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(256))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The bot was removed from the chat (or blocked in a private chat): skip it.
    removed: Mapped[bool] = mapped_column(default=False, server_default=false())
