"""The handler-test harness: how the sandbox's `tg` and `user` fixtures run this project's
bot. Its own `BotRuntime` (your handlers, their lifespan and services) under its own
`PollingRunner`, against the emulator: a handler test goes through the real runtime,
middlewares, FSM and per-update services included.

tests/conftest.py enables this plugin; a test exported from the chat page names it too, so
that it runs from any folder. Two fixtures change the bot of every test of a module (override
them there), and two markers the bot of one test:

    @pytest.fixture
    def bot_settings() -> dict[str, str]:
        return {"ADMIN_IDS": "1001"}          # settings, by variable name

    @pytest.fixture
    def bot_services() -> dict[str, object]:
        return {"weather": FakeWeather()}     # replaces the lifespan's `weather`, unopened

    @pytest.mark.bot_settings(ADMIN_IDS="1001")
    @pytest.mark.bot_services(weather=FakeWeather())
    async def test_...(user: TestUser) -> None: ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.exit_codes import ExitCode
from bot.owner import BotRuntime
from bot.settings import load_settings
from sandbox import Emulator
from sandbox.testing import BotUnderTest
from tests.helpers.polling import poll_in_background

pytest_plugins = ["sandbox.testing.plugin"]


def pytest_configure(config: pytest.Config) -> None:
    """Name the markers, so that `--strict-markers` knows them."""
    config.addinivalue_line(
        "markers", "bot_settings(**values): settings of this test's bot, by variable name"
    )
    config.addinivalue_line(
        "markers", "bot_services(**services): services that replace the handlers' own, unopened"
    )


@pytest.fixture
def bot_settings() -> dict[str, str]:
    """Settings of the bot under test, by variable name; override it in a test module."""
    return {}


@pytest.fixture
def bot_services() -> dict[str, object]:
    """Services that replace the handlers' own of the same name (never opened); override it."""
    return {}


def database_of_test(tmp_path: Path) -> dict[str, str]:
    """An empty SQLite file of the test's own (nothing without the database)."""
    # copier: if database
    return {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"}
    # copier: endif
    return {}


def _marked(request: pytest.FixtureRequest, name: str) -> dict[str, Any]:
    marker = request.node.get_closest_marker(name)
    return dict(marker.kwargs) if marker is not None else {}


@pytest_asyncio.fixture
async def sandbox_bot(
    sandbox_emulator: Emulator,
    sandbox_token: str,
    bot_settings: dict[str, str],
    bot_services: dict[str, object],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> AsyncIterator[BotUnderTest]:
    """The project's bot, polling the emulator in this test's event loop until the test ends."""
    settings = load_settings(
        overrides={
            "SHUTDOWN_TIMEOUT": "5",
            **bot_settings,
            **_marked(request, "bot_settings"),
            "BOT_TOKEN": sandbox_token,
            "TELEGRAM_API_URL": sandbox_emulator.base_url,
            "LOCK_DIR": str(tmp_path),
            **database_of_test(tmp_path),
        },
        root=tmp_path,  # no env file: only these settings
        environment=False,
    )
    # copier: if database
    from bot.database.startup import upgrade_on_start  # the database option's module

    assert await upgrade_on_start(settings), "the test's SQLite database could not be created"
    # copier: endif
    runtime = BotRuntime(settings, services={**bot_services, **_marked(request, "bot_services")})
    await runtime.open()  # here, so that a failing lifespan or a mistyped override fails the test
    polling = poll_in_background(runtime)
    yield BotUnderTest(polling.runner.bot, polling.runner.dispatcher)
    assert await polling.stop() == ExitCode.OK
