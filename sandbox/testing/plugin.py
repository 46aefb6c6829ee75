"""The pytest plugin: the `tg` and `user` fixtures, and the chat transcript of a failed test.

    pytest_plugins = ["sandbox.testing.plugin"]

The project supplies one fixture, `sandbox_bot`: it starts its own dispatcher against
`sandbox_emulator` with `sandbox_token` and yields a `BotUnderTest` (this template's is in
tests/sandbox_bot.py). The sandbox knows nothing of the project; the project's fixture is
what makes a handler test exercise the real runtime.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from sandbox.emulator import Emulator
from sandbox.testing.actors import TestUser
from sandbox.testing.environment import BotTest, BotUnderTest

_bot_ids = itertools.count(800000 + os.getpid() % 1000 * 100)
NO_BOT = (
    "The `tg` and `user` fixtures need a `sandbox_bot` fixture that starts your dispatcher "
    "against `sandbox_emulator` with `sandbox_token` and yields "
    "BotUnderTest(bot, dispatcher); see docs/testing-handlers.md."
)


@pytest_asyncio.fixture
async def sandbox_emulator() -> AsyncIterator[Emulator]:
    """A fresh emulator on a free loopback port, with fast webhook retries and no pause
    between setWebhook calls."""
    async with Emulator(
        retry_first_delay=0.05, retry_max_delay=0.5, webhook_change_interval=0
    ) as emulator:
        yield emulator


@pytest.fixture
def sandbox_token() -> str:
    """A made-up token, a bot of its own for every test."""
    return f"{next(_bot_ids)}:sandbox-test"


@pytest.fixture
def sandbox_running_bot(request: pytest.FixtureRequest) -> BotUnderTest:
    """The project's `sandbox_bot`, or a failure that says how to provide one."""
    try:
        running = request.getfixturevalue("sandbox_bot")
    except pytest.FixtureLookupError:
        pytest.fail(NO_BOT, pytrace=False)
    if not isinstance(running, BotUnderTest):
        pytest.fail(f"{NO_BOT} (it yielded {running!r})", pytrace=False)
    return running


@pytest_asyncio.fixture
async def tg(
    sandbox_emulator: Emulator, sandbox_token: str, sandbox_running_bot: BotUnderTest
) -> BotTest:
    """The sandbox Telegram of this test, with the project's bot running against it."""
    environment = BotTest(sandbox_emulator, sandbox_token, sandbox_running_bot)
    await environment.ready()
    return environment


@pytest.fixture
def user(tg: BotTest) -> TestUser:
    """Ada, in her private chat with the bot."""
    return tg.user()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """Add the transcript of every chat to the report of a failed test that used `tg`."""
    outcome: Any = yield
    report = outcome.get_result()
    environment = getattr(item, "funcargs", {}).get("tg")
    if report.when == "call" and report.failed and isinstance(environment, BotTest):
        report.sections.append(("sandbox transcript", environment.transcript()))
