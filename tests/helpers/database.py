"""What a handler test reads of its bot's database (the harness gives each test an empty
SQLite file of its own, at head)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession

from sandbox.testing import BotTest
from sandbox.testing.actors import TestUser

Sessions = "Callable[[], AbstractAsyncContextManager[AsyncSession]]"


def database_of(test: BotTest | TestUser) -> AbstractAsyncContextManager[AsyncSession]:
    """A session on the test bot's database: `async with database_of(tg) as session:`."""
    tg = test if isinstance(test, BotTest) else test.tg
    opener = tg.dispatcher["sessions"]  # the runtime's, as handlers receive it
    return cast(AbstractAsyncContextManager[AsyncSession], opener())
