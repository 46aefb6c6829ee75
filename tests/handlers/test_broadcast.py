"""/broadcast: an admin sends a message to the users in the database; the report follows in
their chat, and who blocked the bot is marked and skipped the next time."""

import pytest
from sqlalchemy import select

from handlers.models import User
from sandbox.testing import BotTest
from tests.helpers.database import database_of

ADMIN, AUDIENCE = 1001, [2001, 2002, 2003]


@pytest.fixture
def bot_settings() -> dict[str, str]:
    return {"ADMIN_IDS": str(ADMIN)}


async def test_an_admin_broadcasts_to_the_users_and_who_blocked_the_bot_is_skipped_next(
    tg: BotTest,
) -> None:
    for user_id in AUDIENCE:
        await tg.user(f"User {user_id}", user_id=user_id).send("/start")
    tg.emulator.block_bot(tg.token, 2003)
    admin = tg.user("Ada", user_id=ADMIN)
    started = await admin.send("/broadcast Shop opens at 9")
    other = await tg.user("Ben", user_id=1002).send("/broadcast Free money")

    assert started.text.startswith("Broadcast ") and "started: 4 users" in started.text
    assert other.text == "This command is for the bot's admins (ADMIN_IDS)."
    report = await tg.emulator.wait_bot_messages(tg.token, ADMIN, 3)
    assert "is done: 3 of 4 chats got it, 1 blocked the bot, 0 failed." in report[2]["text"]
    assert [m["text"] for m in tg.emulator.bot_messages(tg.token, 2001)][-1] == "Shop opens at 9"
    async with database_of(tg) as session:
        blocked = await session.scalars(select(User.id).where(User.blocked))
        assert list(blocked) == [2003]

    again = await admin.send("/broadcast Closed on Sunday")
    assert "started: 4 users" in again.text  # Ben (1002) wrote since: he is a user too
