"""The users record: every user and chat the bot sees, and whether it may still write to them.

- each update's user and chat are written (first and last seen, language code) by an outer
  middleware, in one short transaction of their own before the handler runs: one upsert per
  row (INSERT ... ON CONFLICT), kept even when the handler then fails;
- a `my_chat_member` update (the bot blocked, unblocked, removed from or added to a chat), a
  403 answer to a handler's message, and a 403 during a broadcast mark the user `blocked` and
  the chat `removed` (the broadcaster reports its 403s through `on_blocked`).

Sessions come from the runtime, which owns the database: `sessions` (every handler and
middleware can take it) opens one transaction, `async with sessions() as session:`, committed
when the block returns and rolled back when it raises.
"""

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, cast

from aiogram import Router
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import Chat as TelegramChat
from aiogram.types import ChatMemberUpdated, ErrorEvent, TelegramObject
from aiogram.types import User as TelegramUser
from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import Broadcasts, Services
from handlers.models import Chat, User

logger = logging.getLogger(__name__)

# What the runtime gives as `sessions`: `async with sessions() as session:` is one transaction.
Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
# The bot's member status in a chat that means it can no longer write there.
GONE = {ChatMemberStatus.KICKED, ChatMemberStatus.LEFT}


def database_sessions(services: Services) -> Sessions:
    """The runtime's session opener (one transaction each), as the lifespan registers it."""
    return cast(Sessions, services.values["sessions"])


def mark_blocked_in_broadcasts(services: Services, sessions: Sessions) -> None:
    """Have the broadcaster mark each chat that answers 403."""
    broadcaster = services.values["broadcaster"]
    if isinstance(broadcaster, Broadcasts):  # a test's stand-in may not be one

        async def blocked(chat_id: int) -> None:
            async with sessions() as session:
                await mark_gone(session, chat_id, gone=True)

        broadcaster.on_blocked(blocked)


async def mark_gone(session: AsyncSession, chat_id: int, *, gone: bool) -> None:
    """The bot can (gone=False) or cannot (True) write to `chat_id` any more: its user (a
    private chat's id is its user's) is marked `blocked`, the chat `removed`."""
    await session.execute(update(User).where(User.id == chat_id).values(blocked=gone))
    await session.execute(update(Chat).where(Chat.id == chat_id).values(removed=gone))


async def record_seen(handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
    """Outer middleware: write the update's user and chat, then hand the update on."""
    user: TelegramUser | None = data.get("event_from_user")
    chat: TelegramChat | None = data.get("event_chat")
    sessions: Sessions | None = data.get("sessions")
    if sessions is not None and (user is not None or chat is not None):
        async with sessions() as session:
            now = datetime.now(UTC)
            if user is not None and not user.is_bot:
                await _upsert_user(session, user, now)
            if chat is not None:
                await _upsert_chat(session, chat, now)
    return await handler(event, data)


async def _upsert_user(session: AsyncSession, user: TelegramUser, now: datetime) -> None:
    insert = _insert(session)
    statement = insert(User).values(
        id=user.id,
        first_name=user.first_name,
        username=user.username,
        language_code=user.language_code,
        first_seen=now,
        last_seen=now,
    )
    # A user who writes to the bot has not blocked it (any more).
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[User.id],
            set_={
                "first_name": statement.excluded.first_name,
                "username": statement.excluded.username,
                "language_code": statement.excluded.language_code,
                "last_seen": statement.excluded.last_seen,
                "blocked": False,
            },
        )
    )


async def _upsert_chat(session: AsyncSession, chat: TelegramChat, now: datetime) -> None:
    insert = _insert(session)
    statement = insert(Chat).values(
        id=chat.id, type=chat.type, title=chat.title, first_seen=now, last_seen=now
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Chat.id],
            set_={
                "type": statement.excluded.type,
                "title": statement.excluded.title,
                "last_seen": statement.excluded.last_seen,
            },
        )
    )


def _insert(session: AsyncSession) -> Any:
    # INSERT ... ON CONFLICT is spelled by each dialect's own `insert`; both have it.
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def member_changed(event: ChatMemberUpdated, session: AsyncSession) -> None:
    """The bot's own membership changed: blocked or unblocked by a user, removed from or
    added to a group."""
    gone = event.new_chat_member.status in GONE
    await mark_gone(session, event.chat.id, gone=gone)
    if event.chat.type != ChatType.PRIVATE:
        return
    logger.info("User %d %s the bot.", event.chat.id, "blocked" if gone else "unblocked")


async def forbidden(
    event: ErrorEvent, session: AsyncSession, event_chat: TelegramChat | None = None
) -> bool:
    """A handler's message got 403: the user blocked the bot (or it left the chat)."""
    if event_chat is None:
        return False  # not a chat's update (an inline query): the errors router logs it
    logger.info(
        "Update %d: chat %d refuses the bot's messages (%s); marked.",
        event.update.update_id,
        event_chat.id,
        event.exception,
    )
    await mark_gone(session, event_chat.id, gone=True)
    return True


def create_router() -> Router:
    """The record's middleware on every kind of update, and its two handlers; first in
    `get_routers()`, so that it sees every update."""
    router = Router(name="users")
    for name, observer in router.observers.items():
        if name not in {"update", "error"}:
            observer.outer_middleware(record_seen)
    router.my_chat_member.register(member_changed)
    router.errors.register(forbidden, ExceptionTypeFilter(TelegramForbiddenError))
    return router
