"""The chat page's server side: the static page, and the JSON routes it drives (the browser
itself is in tests/browser/). Here the test plays the bot with aiogram's Bot."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from sandbox import Emulator
from tests.helpers.processes import ROOT

JSON = dict[str, Any]
ADA, BEN, GROUP = 1001, 1002, -1001


class Page:
    """What the page's JavaScript does, over HTTP."""

    def __init__(self, http: aiohttp.ClientSession, tg: Emulator, token: str) -> None:
        self.http = http
        self.base = f"{tg.base_url}/sandbox/ui/bots/{token.split(':')[0]}"

    async def post(self, route: str, **body: Any) -> JSON:
        async with self.http.post(f"{self.base}/{route}", json=body) as response:
            answer: JSON = await response.json()
        assert answer["ok"], answer
        result: JSON = answer["result"]
        return result

    async def view(self, chat: int = ADA, version: int = -1) -> JSON:
        query = {"chat": str(chat), "version": str(version)}
        async with self.http.get(f"{self.base}/view", params=query) as response:
            result: JSON = (await response.json())["result"]
            return result


@pytest.fixture
def page(http: aiohttp.ClientSession, tg: Emulator, token: str) -> Page:
    tg.bot(token)  # the bot has called the emulator
    return Page(http, tg, token)


def menu(*data: str) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(text=d.title(), callback_data=d) for d in data]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


async def test_the_page_and_its_static_files_are_served(
    tg: Emulator, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{tg.base_url}/") as response:
        assert response.status == 200 and "<title>Sandbox chat</title>" in await response.text()
    for name in ("app.js", "format.js", "style.css"):
        async with http.get(f"{tg.base_url}/static/{name}") as response:
            assert response.status == 200, name


async def test_the_bot_list_names_bots_by_id_never_by_token(
    tg: Emulator, http: aiohttp.ClientSession, token: str
) -> None:
    listing = asyncio.ensure_future(http.get(f"{tg.base_url}/sandbox/ui/bots?known=0"))
    tg.bot(token)  # a bot calls: a page waiting for one (known=0) gets it
    async with await asyncio.wait_for(listing, 5) as response:
        text = await response.text()
    assert f'"id": {token.split(":")[0]}' in text and token not in text


async def test_the_view_answers_as_soon_as_the_bot_replies(page: Page, bot: Bot) -> None:
    await page.post("send", chat_id=ADA, user_id=ADA, text="/start")
    before = await page.view()
    changed = asyncio.ensure_future(page.view(version=before["version"]))
    await bot.send_message(ADA, "Hello, <b>Ada</b>!", parse_mode="HTML")
    after = await asyncio.wait_for(changed, 5)

    texts = [(item["from"]["first_name"], item["text"]) for item in after["timeline"]]
    assert texts == [("Ada", "/start"), ("Sandbox Bot", "Hello, Ada!")]
    assert after["timeline"][1]["entities"] == [{"offset": 7, "length": 3, "type": "bold"}]
    assert [call["method"] for call in after["calls"]] == ["sendMessage"]
    assert after["webhook"]["url"] == "" and after["commands"] == []


async def test_buttons_answers_and_failed_calls_show_in_the_chat(
    page: Page, bot: Bot, tg: Emulator, token: str
) -> None:
    await page.post("send", chat_id=ADA, user_id=ADA, text="/menu")
    sent = await bot.send_message(ADA, "Pick:", reply_markup=menu("apple"))
    update = await page.post(
        "press", chat_id=ADA, user_id=ADA, message_id=sent.message_id, callback_data="apple"
    )
    query = update["callback_query"]
    assert query["from"]["first_name"] == "Ada" and query["data"] == "apple"
    await bot.answer_callback_query(query["id"], text="Apple it is")
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(ADA, "Version 1.0", parse_mode="MarkdownV2")

    view = await page.view()
    assert view["answers"][query["id"]] == {"text": "Apple it is", "show_alert": False}
    last = view["timeline"][-1]
    assert (last["kind"], last["method"], last["error_code"]) == ("error", "sendMessage", 400)
    assert "Character '.' is reserved" in last["description"]
    assert tg.pending_updates(token)[-1]["callback_query"]["id"] == query["id"]


async def test_the_group_is_one_chat_where_each_page_user_speaks(
    page: Page, tg: Emulator, token: str
) -> None:
    await page.post("send", chat_id=GROUP, user_id=ADA, text="hi all")
    await page.post("send", chat_id=GROUP, user_id=BEN, text="hi Ada")
    messages = [u["message"] for u in tg.pending_updates(token)]
    assert [m["from"]["first_name"] for m in messages] == ["Ada", "Ben"]
    assert {m["chat"]["title"] for m in messages} == {"Sandbox group"}
    assert messages[0]["chat"]["type"] == "group"


async def test_a_recorded_conversation_exports_as_a_lint_clean_pytest_file(
    page: Page, bot: Bot, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    await page.post("recording", on=True)
    await page.post("send", chat_id=ADA, user_id=ADA, text="/menu")
    sent = await bot.send_message(ADA, "Pick:", reply_markup=menu("apple", "pear"))
    update = await page.post(
        "press",
        chat_id=ADA,
        user_id=ADA,
        message_id=sent.message_id,
        callback_data="pear",
        text="Pear",
    )
    await bot.answer_callback_query(update["callback_query"]["id"], text="Pear!")
    await bot.edit_message_text("You chose pear", chat_id=ADA, message_id=sent.message_id)
    await page.post("recording", on=False)
    assert (await page.view())["recording"] == {"on": False, "steps": 2}

    async with http.get(f"{page.base}/recording.py") as response:
        assert response.status == 200
        assert "attachment" in response.headers["Content-Disposition"]
        source = await response.text()
    compile(source, "test_recorded.py", "exec")  # a valid module
    for line in (
        '    ada = tg.user("Ada", user_id=1001)',
        '    reply = await ada.send("/menu")',
        '    assert reply.texts == ["Pick:"]',
        '    assert reply.buttons == ["Apple", "Pear"]',
        '    reply = await ada.click("Pear")',
        '    assert reply.toast == "Pear!"',
        '    assert reply.edited_texts == ["You chose pear"]',
    ):
        assert line in source.splitlines(), f"{line!r} not in:\n{source}"
    assert "def bot_settings" not in source  # the bot ran with the project's own settings
    assert_lint_clean(tmp_path / "test_recorded.py", source)


async def test_an_export_gives_its_bot_the_handlers_the_recorded_bot_ran(
    http: aiohttp.ClientSession, token: str, tmp_path: Path
) -> None:
    handlers = {"HANDLERS_MODULE": "tests.fixtures.conversation_handlers"}
    async with Emulator(test_settings=handlers) as tg:
        tg.bot(token)
        page = Page(http, tg, token)
        await page.post("recording", on=True)
        await page.post("send", chat_id=ADA, user_id=ADA, text="/pick")
        await page.post("recording", on=False)
        async with http.get(f"{page.base}/recording.py") as response:
            source = await response.text()

    fixture = [
        "@pytest.fixture",
        "def bot_settings() -> dict[str, str]:",
        "    return {",
        '        "HANDLERS_MODULE": "tests.fixtures.conversation_handlers",',
        "    }",
    ]
    lines = source.splitlines()
    start = lines.index(fixture[0])
    assert lines[start : start + len(fixture)] == fixture, source
    assert_lint_clean(tmp_path / "test_recorded.py", source)


def assert_lint_clean(path: Path, source: str) -> None:
    """`source`, written to `path`, passes `ruff format --check` and `ruff check`."""
    path.write_text(source)
    for ruff in (["format", "--check"], ["check"]):
        linted = subprocess.run(
            [
                sys.executable,
                "-m",
                "ruff",
                *ruff,
                "--config",
                str(ROOT / "pyproject.toml"),
                str(path),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert linted.returncode == 0, linted.stdout + linted.stderr
