"""/broadcast: an admin sends a message to the audience; the report follows in their chat."""

from pathlib import Path

import pytest

from sandbox.testing import BotTest

ADMIN, AUDIENCE = 1001, [2001, 2002, 2003]


@pytest.fixture
def bot_settings(tmp_path: Path) -> dict[str, str]:
    audience = tmp_path / "audience.txt"
    audience.write_text("# our users\n" + "".join(f"{chat}\n" for chat in AUDIENCE))
    return {"ADMIN_IDS": str(ADMIN), "BROADCAST_AUDIENCE_FILE": str(audience)}


async def test_an_admin_broadcasts_and_gets_the_report_others_are_turned_away(
    tg: BotTest,
) -> None:
    tg.emulator.add_chats(tg.token, AUDIENCE)
    tg.emulator.block_bot(tg.token, 2003)
    started = await tg.user("Ada", user_id=ADMIN).send("/broadcast Shop opens at 9")
    other = await tg.user("Ben", user_id=1002).send("/broadcast Free money")

    assert started.text.startswith("Broadcast ") and "started: 3 chats" in started.text
    assert other.text == "This command is for the bot's admins (ADMIN_IDS)."
    report = await tg.emulator.wait_bot_messages(tg.token, ADMIN, 2)
    assert "is done: 2 of 3 chats got it, 1 blocked the bot, 0 failed." in report[1]["text"]
    assert [m["text"] for m in tg.emulator.bot_messages(tg.token, 2001)] == ["Shop opens at 9"]
    assert tg.emulator.bot_messages(tg.token, 2003) == []
