"""The chat page in a real headless Chromium, against the real emulator and the project's
bot (its dispatcher under PollingRunner, with the tests' own handlers: an inline keyboard,
a two-step conversation, an echo): what a developer does with it, in one session.

Every wait is on an event: Playwright's expectations retry until the page shows the thing,
and the page itself updates on the emulator's changes. The test plays the bot too (with the
running bot's own Bot) where its handlers send nothing of the kind: formatting, a
parse error, a deletion.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiogram.exceptions import TelegramBadRequest

from bot.exit_codes import ExitCode
from bot.settings import env_names
from sandbox import Emulator
from tests.helpers.browser import artifacts_dir
from tests.helpers.polling import RunningBot
from tests.helpers.processes import ROOT, free_port

playwright = pytest.importorskip(
    "playwright.async_api", reason="needs the Python package playwright (the dev extra)"
)
expect = playwright.expect
expect.set_options(timeout=15_000)  # a loaded CI machine is slow, never stuck
ADA = 1001


async def send(page: Any, text: str) -> None:
    await page.get_by_label("Message").fill(text)
    await page.get_by_label("Message").press("Enter")


def bot_says(page: Any) -> Any:
    """The bot's last message in the open chat."""
    return page.locator("#messages .message.from-bot").last


async def test_the_chat_page_from_start_to_an_exported_regression_test(
    browser_page: Any,
    emulator: Emulator,
    token: str,
    start_runner: Callable[..., Awaitable[RunningBot]],
    tmp_path: Path,
) -> None:
    page = browser_page
    running = await start_runner()
    bot = running.runner.bot
    await page.goto(f"{emulator.base_url}/")
    await expect(page.locator("#bot-name")).to_have_text(f"@sandbox_{bot.id}_bot")
    await expect(page.locator("#mode")).to_have_text("polling")

    # The first command, and the bot's command menu offered as completions.
    await send(page, "/start")
    await expect(bot_says(page)).to_contain_text("Hello, Ada!")
    await expect(page.locator("#commands option[value='/help']")).to_have_count(1)

    # An inline button: a callback query, its answer as a toast, the message edited in place.
    await send(page, "/pick")
    await page.get_by_role("button", name="Green").click()
    await expect(page.locator("#toast")).to_have_text("You picked green")
    await expect(bot_says(page)).to_contain_text("You picked: green")
    await expect(bot_says(page).locator(".meta")).to_contain_text("edited")
    await expect(page.get_by_role("button", name="Blue")).to_have_count(0)
    await expect(page.locator("#calls .method", has_text="answerCallbackQuery")).to_have_count(1)

    await check_formatting_errors_and_deletion(page, bot)
    exported = await record_a_conversation_and_export_it(page, tmp_path)
    await page.screenshot(path=artifacts_dir() / "chat-page.png", full_page=True)

    # Another user's conversation, then back; the group, speaking as someone else.
    await page.locator("#conversations").get_by_role("button", name="Ben").click()
    await expect(page.locator("#messages .message")).to_have_count(0)
    await send(page, "/start")
    # Ben's Telegram speaks Russian (the sandbox's users differ): the bot answers in it.
    await expect(bot_says(page)).to_contain_text("Здравствуйте, Ben!")
    await page.locator("#conversations").get_by_role("button", name="Ada").click()
    await expect(bot_says(page).locator(".text")).to_have_text("You picked: blue")
    await page.locator("#conversations").get_by_role("button", name="Sandbox group").click()
    await page.get_by_label("Speaking as").select_option(label="Cleo")
    await send(page, "hello, group")
    await expect(page.locator(".message.from-user .sender")).to_have_text("Cleo")
    await expect(bot_says(page)).to_contain_text("hello, group")

    await check_the_webhook_panel(page, emulator, token, running)
    await run_the_exported_test(exported)


async def check_formatting_errors_and_deletion(page: Any, bot: Any) -> None:
    """Formatting rendered from entities, a parse error shown as Telegram's 400, a deleted
    message removed."""
    formatted = await bot.send_message(ADA, "*bold* _italic_ `code`", parse_mode="MarkdownV2")
    await expect(bot_says(page).locator("b")).to_have_text("bold")
    await expect(bot_says(page).locator("i")).to_have_text("italic")
    await expect(bot_says(page).locator("code")).to_have_text("code")
    await bot.send_message(ADA, "<u>under</u> <a href='https://example.org/'>a link</a>")
    await expect(bot_says(page).locator("u")).to_have_text("under")
    await expect(bot_says(page).locator("a")).to_have_attribute("href", "https://example.org/")

    with pytest.raises(TelegramBadRequest):
        await bot.send_message(ADA, "Version 1.0", parse_mode="MarkdownV2")
    reserved = "sendMessage failed: 400 Bad Request: can't parse entities: Character '.'"
    await expect(page.locator("#messages .notice.error")).to_contain_text(reserved)
    failed = page.locator("#calls .call.failed").first
    await expect(failed).to_contain_text("400")
    await failed.locator("summary").click()
    await expect(failed.locator("pre.params")).to_contain_text('"parse_mode": "MarkdownV2"')

    await bot.delete_message(ADA, formatted.message_id)
    await expect(page.locator("#messages b")).to_have_count(0)


async def record_a_conversation_and_export_it(page: Any, folder: Path) -> Path:
    """Record a conversation (a reply keyboard, FSM state) and a button, then export the test
    (it names the handlers the bot ran: the emulator's `test_settings`)."""
    await page.get_by_role("button", name="Record").click()
    await expect(page.get_by_role("button", name="Stop")).to_be_visible()
    await send(page, "/ask")
    await expect(bot_says(page)).to_contain_text("What is your name?")
    await page.locator("#reply-keyboard").get_by_role("button", name="Ada").click()
    await expect(bot_says(page)).to_contain_text("How old are you?")
    await expect(page.locator("#reply-keyboard button")).to_have_count(0)
    await send(page, "36")
    await expect(bot_says(page)).to_contain_text("Nice to meet you, Ada, aged 36.")
    await send(page, "/pick")
    await page.get_by_role("button", name="Blue").click()
    await expect(page.locator("#toast")).to_have_text("You picked blue")
    await expect(bot_says(page)).to_contain_text("You picked: blue")
    await page.get_by_role("button", name="Stop").click()
    await expect(page.locator("#record-status")).to_have_text("5 steps recorded")

    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Export test").click()
    download = await download_info.value
    assert download.suggested_filename.startswith("test_recorded_")
    exported = folder / "elsewhere" / download.suggested_filename
    await download.save_as(exported)
    return exported


async def check_the_webhook_panel(
    page: Any, emulator: Emulator, token: str, running: RunningBot
) -> None:
    """A webhook set elsewhere stops the poller (exit 4); its failing deliveries show."""
    hook = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    emulator.set_webhook_directly(token, hook, secret_token="made-up-secret")
    assert await running.exit_code() == ExitCode.WEBHOOK_ACTIVE
    await send(page, "anyone there?")
    panel = page.locator("#webhook")
    await expect(page.locator("#mode")).to_have_text("webhook")
    await expect(panel).to_contain_text(hook)
    await expect(panel.locator("dd.failed")).to_contain_text("Connection refused")
    await expect(panel).to_contain_text("pending updates1")
    await page.screenshot(path=artifacts_dir() / "chat-page-webhook.png", full_page=True)


async def run_the_exported_test(exported: Path) -> None:
    """The exported file passes as it is, run from the project root."""
    env = {k: v for k, v in os.environ.items() if k not in env_names()}
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "pytest", str(exported), "-p", "no:cacheprovider"),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    report = f"{exported.read_text()}\n{output.decode()}"
    assert process.returncode == 0, report
    assert "1 passed" in output.decode(), report
