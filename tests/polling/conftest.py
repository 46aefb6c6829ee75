"""Fixtures for the polling tests: the real runner, in this process, against the emulator."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiogram import Dispatcher

from bot.config import load_settings
from bot.factory import create_bot, create_dispatcher
from bot.polling_runner import PollingRunner
from bot.settings import Settings
from sandbox import Emulator
from tests.polling.runner_helpers import RunningBot


@pytest.fixture
def make_settings(polling_env: dict[str, str], tmp_path: Path) -> Callable[..., Settings]:
    """Settings from `polling_env` plus overrides (no env file: the root is an empty folder)."""

    def make(**overrides: str) -> Settings:
        root = tmp_path / "root"
        root.mkdir(exist_ok=True)
        return load_settings(environ={**polling_env, **overrides}, root=root)

    return make


@pytest.fixture
def bot_logs(caplog: pytest.LogCaptureFixture) -> Callable[..., list[str]]:
    """The bot's own log lines at or above a level (INFO by default)."""
    caplog.set_level(logging.INFO, logger="bot.polling")

    def lines(level: int = logging.INFO) -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.name.startswith("bot.polling") and r.levelno >= level
        ]

    return lines


@pytest.fixture
async def start_runner(
    emulator: Emulator, token: str, make_settings: Callable[..., Settings]
) -> AsyncIterator[Callable[..., Awaitable[RunningBot]]]:
    """Start the polling runner in-process; by default wait until its long poll is parked."""
    running: list[RunningBot] = []

    async def start(
        settings: Settings | None = None,
        dispatcher: Dispatcher | None = None,
        wait_parked: bool = True,
        **kwargs: Any,
    ) -> RunningBot:
        settings = settings or make_settings()
        runner = PollingRunner(
            settings, create_bot(settings), dispatcher or create_dispatcher(settings), **kwargs
        )
        bot = RunningBot(runner, asyncio.create_task(runner.run()))
        running.append(bot)
        if wait_parked:
            await emulator.wait_until(
                lambda: emulator.bot(token).long_poll_parked or bot.task.done(),
                what="the runner's long poll",
            )
        return bot

    yield start
    for bot in running:
        if not bot.task.done():
            await bot.stop()
