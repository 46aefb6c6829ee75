"""Fixtures of the browser tests: a Chromium page, and an emulator whose exported tests name
the project's pytest plugin (as under `python run.py --sandbox`) and the handlers the tests'
bot runs (`polling_env`'s)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.sandbox_mode import TEST_PLUGIN
from sandbox import Emulator
from tests.helpers.browser import CHROMIUM_ARGS, chromium
from tests.helpers.constants import CONVERSATION_HANDLERS


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """The emulator as `--sandbox` starts it, with fast retries for the tests."""
    async with Emulator(
        retry_first_delay=0.05,
        retry_max_delay=0.5,
        webhook_change_interval=0,
        test_plugins=(TEST_PLUGIN,),
        test_settings={"HANDLERS_MODULE": CONVERSATION_HANDLERS},
    ) as tg:
        yield tg


@pytest.fixture
async def browser_page() -> AsyncIterator[Any]:
    """A page of a fresh headless Chromium."""
    binary = chromium()
    api = pytest.importorskip(
        "playwright.async_api", reason="needs the Python package playwright (the dev extra)"
    )
    async with api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1400, "height": 900})
        page = await context.new_page()
        page.set_default_timeout(15_000)
        yield page
        await browser.close()
