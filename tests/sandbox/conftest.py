"""Fixtures for the emulator's own tests: a fast emulator, an aiogram Bot, a webhook stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot

from sandbox import Emulator
from tests.helpers.emulator import WebhookReceiver, make_bot


@pytest.fixture
async def tg() -> AsyncIterator[Emulator]:
    """An emulator with retries capped low and no setWebhook rate limit (its test sets one)."""
    async with Emulator(
        retry_first_delay=0.2, retry_max_delay=0.4, webhook_timeout=5.0, webhook_change_interval=0
    ) as emulator:
        yield emulator


@pytest.fixture
async def bot(tg: Emulator, token: str) -> AsyncIterator[Bot]:
    """aiogram's Bot for `token`, talking to `tg`."""
    instance = make_bot(tg, token)
    yield instance
    await instance.session.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A raw HTTP client, for what aiogram would not send."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    """A running webhook stand-in on a free loopback port."""
    instance = await WebhookReceiver().start()
    yield instance
    await instance.stop()
