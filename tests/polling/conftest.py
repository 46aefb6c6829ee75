"""Fixtures for the polling tests: the real runner, in this process, against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiogram import Dispatcher

from bot.factory import create_bot, create_dispatcher
from bot.polling.runner import PollingRunner
from bot.settings import Settings
from sandbox import Emulator
from tests.helpers.polling import RunningBot


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
