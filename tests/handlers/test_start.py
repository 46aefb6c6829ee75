"""/start and /help: the first thing a user sees."""

from sandbox.testing import TestUser


async def test_start_greets_the_user_by_name_and_lists_the_commands(user: TestUser) -> None:
    reply = await user.send("/start")
    assert reply.text.startswith("Hello, Ada!")
    assert "/help - this list" in reply.text


async def test_help_lists_the_commands(user: TestUser) -> None:
    reply = await user.send("/help")
    assert reply.text.startswith("I am a template bot. Try:")
