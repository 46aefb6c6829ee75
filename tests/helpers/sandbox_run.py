"""`python run.py --sandbox` as a real process in a copy of the project, and talking to its
chat page over HTTP as the page's JavaScript does."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aiohttp

from tests.helpers.processes import Program

PAGE_LINE = re.compile(r"chat with the bot at (http://127\.0\.0\.1:\d+)/")
SANDBOX_BOT_ID = 123456  # bot.sandbox_mode.SANDBOX_TOKEN's number


async def page_address(program: Program) -> str:
    """The chat page's address, from the line `--sandbox` prints."""
    await program.wait_for_lines("chat with the bot at", timeout=60)
    found = PAGE_LINE.search(program.output)
    assert found is not None, program.output
    return found.group(1)


class PageClient:
    """The chat page's requests, for one page user in their private chat."""

    def __init__(self, http: aiohttp.ClientSession, page: str, user_id: int = 1001) -> None:
        self.http = http
        self.api = f"{page}/sandbox/ui/bots/{SANDBOX_BOT_ID}"
        self.user_id = user_id

    async def view(self, version: int = -1) -> dict[str, Any]:
        query = {"chat": str(self.user_id), "version": str(version)}
        async with self.http.get(f"{self.api}/view", params=query) as response:
            assert response.status == 200, await response.text()
            result: dict[str, Any] = (await response.json())["result"]
            return result

    async def wait_view(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first view for which `predicate` holds (each view answers at the next change)."""
        view = await self.view()
        while not predicate(view):
            view = await self.view(view["version"])
        return view

    async def say(self, text: str) -> str:
        """Send `text` as the page does; the text of the bot's first message after it."""
        body = {"chat_id": self.user_id, "user_id": self.user_id, "text": text}
        async with self.http.post(f"{self.api}/send", json=body) as response:
            sent = (await response.json())["result"]["message"]["message_id"]

        def replies(view: dict[str, Any]) -> list[str]:
            return [
                m["text"]
                for m in view["timeline"]
                if m["kind"] == "message" and m["from"]["is_bot"] and m["message_id"] > sent
            ]

        return replies(await self.wait_view(lambda view: bool(replies(view))))[0]
