"""Fixtures of the flood-control tests: the emulator enforcing Telegram's limits, faster."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from sandbox import Emulator
from tests.helpers.flood import TELEGRAM


@pytest.fixture
async def limited_emulator() -> AsyncIterator[Callable[[float], Awaitable[Emulator]]]:
    """Start the emulator with Telegram's flood limits at `scale` times their rates."""
    started: list[Emulator] = []

    async def start(scale: float) -> Emulator:
        tg = Emulator(flood_limits=TELEGRAM.scaled(scale), webhook_change_interval=0)
        await tg.start()
        started.append(tg)
        return tg

    yield start
    for tg in started:
        await tg.stop()
