"""A handler's `session`: one transaction per update, committed when the handler returns,
rolled back when it raises; an update whose handler does not ask for one opens none."""

from collections.abc import Iterator

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Connection

from handlers.models import Base, User
from sandbox.testing import BotTest
from tests.helpers.database import database_of

pytestmark = pytest.mark.bot_settings(HANDLERS_MODULE="tests.fixtures.database_handlers")


@pytest.fixture
def begun(tg: BotTest) -> Iterator[list[int]]:
    """Transactions begun on the bot's database while the test runs (one entry each)."""
    engine = tg.dispatcher["sessions"].__self__.engine.sync_engine
    transactions: list[int] = []

    def count(_connection: Connection) -> None:
        transactions.append(1)

    event.listen(engine, "begin", count)
    yield transactions
    event.remove(engine, "begin", count)


async def stored_names(tg: BotTest) -> list[str]:
    async with database_of(tg) as session:
        return list(await session.scalars(select(User.first_name).order_by(User.id)))


async def test_a_handler_that_returns_keeps_its_rows_one_that_raises_leaves_none(
    tg: BotTest,
) -> None:
    async with database_of(tg) as session:  # the fixture module has no migrations
        await (await session.connection()).run_sync(Base.metadata.create_all)
    ada = tg.user("Ada")

    assert (await ada.send("/keep Ada")).text == "kept"
    await ada.send("/spoil Ben")

    assert await stored_names(tg) == ["Ada"]


async def test_an_update_whose_handler_asks_for_no_session_opens_none(
    tg: BotTest, begun: list[int]
) -> None:
    assert (await tg.user("Ada").send("/ping")).text == "pong"
    assert begun == []
