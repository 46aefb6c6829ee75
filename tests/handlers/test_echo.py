"""The catch-all: any other text comes back as it was written."""

from sandbox.testing import BotTest, TestUser


async def test_text_comes_back_unchanged_and_is_never_parsed_as_html(user: TestUser) -> None:
    reply = await user.send("hello <b>there</b> & co")
    assert reply.texts == ["hello <b>there</b> & co"]
    assert reply.message.entities is None


async def test_in_a_group_the_bot_echoes_whoever_wrote(tg: BotTest) -> None:
    friends = tg.group("Friends")
    reply = await tg.user("Cleo").in_(friends).send("hello all")
    assert reply.text == "hello all"
    assert reply.message.chat.title == "Friends"
