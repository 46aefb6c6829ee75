"""/admin: only for the user ids in ADMIN_IDS, a setting handlers receive as `settings`."""

import pytest

from sandbox.testing import BotTest


@pytest.fixture
def bot_settings() -> dict[str, str]:
    return {"ADMIN_IDS": "1001"}


async def test_admin_answers_admins_and_turns_others_away(tg: BotTest) -> None:
    admin = await tg.user("Ada", user_id=1001).send("/admin")
    other = await tg.user("Ben", user_id=1002).send("/admin")

    assert admin.text.startswith("You are an admin of this bot (1 in ADMIN_IDS)")
    assert other.text == "This command is for the bot's admins (ADMIN_IDS)."
