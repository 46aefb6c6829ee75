"""Fixtures of the flood-control tests: the emulator enforcing Telegram's limits, faster, under
each reading of them (a token bucket, a sliding window): the bot must stay under both."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from sandbox import Emulator
from tests.helpers.flood import READINGS, TELEGRAM


@pytest.fixture(params=READINGS)
async def limited_emulator(
    request: pytest.FixtureRequest,
) -> AsyncIterator[Callable[[float], Awaitable[Emulator]]]:
    """Start the emulator with Telegram's flood limits at `scale` times their rates."""
    limits = dataclasses.replace(TELEGRAM, sliding_window=request.param == "sliding window")
    started: list[Emulator] = []

    async def start(scale: float) -> Emulator:
        tg = Emulator(flood_limits=limits.scaled(scale), webhook_change_interval=0)
        await tg.start()
        started.append(tg)
        return tg

    yield start
    for tg in started:
        await tg.stop()
