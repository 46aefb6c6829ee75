"""Testing your handlers in five lines, against the emulator and your real dispatcher.

    async def test_start(user: TestUser) -> None:
        reply = await user.send("/start")
        assert reply.text.startswith("Hello, Ada!")

`plugin.py` is the pytest plugin (the `tg` and `user` fixtures); the names follow aiogram's
upcoming `aiogram.test` (`user.send`, `user.click`, `user.chat`) so that a later switch is
easy. This part of `sandbox/` imports aiogram and pytest; the emulator itself does not.
"""

from sandbox.testing.actors import TestChat, TestUser
from sandbox.testing.environment import BotTest, BotUnderTest
from sandbox.testing.replies import Reply

__all__ = ["BotTest", "BotUnderTest", "Reply", "TestChat", "TestUser"]
