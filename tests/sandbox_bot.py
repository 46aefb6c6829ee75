"""How the sandbox's `tg` and `user` fixtures run this project's bot: its own dispatcher
(`create_dispatcher`, with your handlers) under its own `PollingRunner`, against the
emulator. So a handler test goes through the real runtime, middlewares and FSM included.

tests/conftest.py enables this plugin; a test exported from the chat page names it too, so
that it runs from any folder. To give the bot settings in a test module, override
`bot_settings` there:

    @pytest.fixture
    def bot_settings() -> dict[str, str]:
        return {"ADMIN_IDS": "1001"}
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.exit_codes import ExitCode
from bot.factory import create_bot, create_dispatcher
from bot.polling.runner import PollingRunner
from bot.settings import load_settings
from sandbox import Emulator
from sandbox.testing import BotUnderTest

pytest_plugins = ["sandbox.testing.plugin"]


@pytest.fixture
def bot_settings() -> dict[str, str]:
    """Settings of the bot under test, by variable name; override it in a test module."""
    return {}


@pytest_asyncio.fixture
async def sandbox_bot(
    sandbox_emulator: Emulator, sandbox_token: str, bot_settings: dict[str, str], tmp_path: Path
) -> AsyncIterator[BotUnderTest]:
    """The project's bot, polling the emulator in this test's event loop until the test ends."""
    settings = load_settings(
        overrides={
            "SHUTDOWN_TIMEOUT": "5",
            **bot_settings,
            "BOT_TOKEN": sandbox_token,
            "TELEGRAM_API_URL": sandbox_emulator.base_url,
            "LOCK_DIR": str(tmp_path),
        },
        root=tmp_path,  # no env file: only these settings
        environment=False,
    )
    runner = PollingRunner(settings, create_bot(settings), create_dispatcher(settings))
    polling = asyncio.create_task(runner.run())
    yield BotUnderTest(runner.bot, runner.dispatcher)
    runner.request_stop()
    assert await polling == ExitCode.OK
