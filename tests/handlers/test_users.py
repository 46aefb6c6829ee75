"""The users record: every user and chat the bot sees is stored, and who blocked the bot is
marked (handlers/users.py)."""

from datetime import UTC, datetime

from aiogram.types import Update
from sqlalchemy import select

from handlers.models import Chat, User
from sandbox.testing import TestUser
from tests.helpers.database import database_of


async def test_start_records_the_user_and_their_chat(user: TestUser) -> None:
    await user.send("/start")
    async with database_of(user) as session:
        stored = (await session.scalars(select(User))).one()
        chat = (await session.scalars(select(Chat))).one()
    assert (stored.id, stored.first_name, stored.language_code) == (user.id, "Ada", "en")
    assert stored.first_seen == stored.last_seen and not stored.blocked
    assert (chat.id, chat.type, chat.removed) == (user.id, "private", False)

    await user.send("/help")
    async with database_of(user) as session:
        again = (await session.scalars(select(User))).one()
    assert again.first_seen == stored.first_seen and again.last_seen > stored.last_seen


async def test_a_user_who_blocks_the_bot_is_marked_and_unmarked_when_they_unblock(
    user: TestUser,
) -> None:
    await user.send("/start")

    async def bot_status(status: str, update_id: int) -> bool:
        me = await user.tg.bot.me()
        member = {"user": {"id": me.id, "is_bot": True, "first_name": me.first_name}}
        update = Update.model_validate(
            {
                "update_id": update_id,
                "my_chat_member": {
                    "chat": {"id": user.id, "type": "private", "first_name": "Ada"},
                    "from": {"id": user.id, "is_bot": False, "first_name": "Ada"},
                    "date": int(datetime.now(UTC).timestamp()),
                    "old_chat_member": {**member, "status": "member"},
                    "new_chat_member": {
                        **member,
                        "status": status,
                        **({"until_date": 0} if status == "kicked" else {}),
                    },
                },
            }
        )
        await user.tg.dispatcher.feed_update(user.tg.bot, update)
        async with database_of(user) as session:
            return (await session.get_one(User, user.id)).blocked

    assert await bot_status("kicked", 900_001) is True
    assert await bot_status("member", 900_002) is False
