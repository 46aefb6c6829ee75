"""The catch-all: any other text comes back as it was written."""

from sandbox.testing import TestUser


async def test_text_comes_back_unchanged_and_is_never_parsed_as_html(user: TestUser) -> None:
    reply = await user.send("hello <b>there</b> & co")
    assert reply.texts == ["hello <b>there</b> & co"]
    assert reply.message.entities is None
