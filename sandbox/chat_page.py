"""The chat page: a Telegram-like client of the emulator, served at `/` (static files, no build
step), and the JSON routes under `/sandbox/ui/` it talks to.

Bots are named by id, never by token, so the page's address and requests carry no token.
The page long-polls `view`: the answer comes as soon as anything about the bot changes (a
reply, an edit, a call, a webhook delivery), so replies appear without a reload.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox import users, views
from sandbox.errors import BotApiError
from sandbox.recording import Recording, Step
from sandbox.registry import BotRegistry
from sandbox.state import BotState

JSON = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STATIC = Path(__file__).with_name("static")
# Seconds a long-polled view waits for a change before it answers unchanged.
VIEW_TIMEOUT = 25.0
# The people of the page: one private chat each, and a group they are all in. Their apps'
# languages differ, so the page shows the bot in each language it speaks (Cleo's German is
# not shipped: she gets DEFAULT_LANGUAGE).
PAGE_USERS = (
    {"id": 1001, "first_name": "Ada", "language_code": "en"},
    {"id": 1002, "first_name": "Ben", "language_code": "ru"},
    {"id": 1003, "first_name": "Cleo", "language_code": "de"},
)
GROUP = {"id": -1001, "type": "group", "title": "Sandbox group"}
# Button answers the view carries, newest last (the page shows the ones it is waiting for).
RECENT_ANSWERS = 20


class ChatPage:
    """aiohttp handlers for the page and its JSON routes."""

    def __init__(self, bots: BotRegistry) -> None:
        self.bots = bots
        self.recordings: dict[str, Recording] = {}  # token -> the last recording
        self.recording_on: set[str] = set()

    def add_to(self, app: web.Application) -> None:
        """Register the page's routes on `app` (before the catch-all 404)."""
        app.router.add_get("/", self.index)
        app.router.add_static("/static/", STATIC)
        ui = "/sandbox/ui/bots"
        app.router.add_get(ui, self.list_bots)
        routes: list[tuple[str, str, Callable[[BotState, web.Request], Awaitable[Any]]]] = [
            ("GET", "view", self.view),
            ("POST", "send", self.send),
            ("POST", "press", self.press),
            ("POST", "recording", self.set_recording),
        ]
        for method, name, route in routes:
            app.router.add_route(method, f"{ui}/{{bot_id}}/{name}", self._wrap(route))
        app.router.add_get(f"{ui}/{{bot_id}}/recording.py", self._wrap_raw(self.export))

    def _bot(self, request: web.Request) -> BotState:
        try:
            return self.bots.by_id(int(request.match_info["bot_id"]))
        except (KeyError, ValueError) as error:
            raise web.HTTPNotFound(text=str(error)) from None

    def _wrap(self, route: Callable[[BotState, web.Request], Awaitable[Any]]) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            bot = self._bot(request)
            try:
                return web.json_response({"ok": True, "result": await route(bot, request)})
            except (ValueError, KeyError, TypeError, BotApiError) as error:
                description = getattr(error, "description", None) or str(error)
                return web.json_response({"ok": False, "description": description}, status=400)

        return handler

    def _wrap_raw(self, route: Callable[[BotState], web.StreamResponse]) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return route(self._bot(request))

        return handler

    async def index(self, request: web.Request) -> web.StreamResponse:
        """The page itself."""
        return web.FileResponse(STATIC / "index.html")

    async def list_bots(self, request: web.Request) -> web.Response:
        """The bots that have called the emulator; with `?known=N`, waits until there are
        not N of them (the page waits for its bot to start)."""
        known = int(request.query.get("known", "-1"))
        with contextlib.suppress(TimeoutError):
            await self.bots.signal.wait_until(
                lambda: len(self.bots.all()) != known, VIEW_TIMEOUT, "a bot"
            )
        bots = [bot.me() for bot in self.bots.all()]
        return web.json_response({"ok": True, "result": bots})

    async def view(self, bot: BotState, request: web.Request) -> JSON:
        """Everything the page shows for one chat. Query: chat, version (answer once the bot's
        state is past it), calls_after (only newer calls)."""
        version = int(request.query.get("version", "-1"))
        with contextlib.suppress(TimeoutError):
            await bot.signal.wait_until(lambda: bot.version != version, VIEW_TIMEOUT, "a change")
        chat_id = int(request.query.get("chat", str(PAGE_USERS[0]["id"])))
        answers = list(bot.callback_queries.items())[-RECENT_ANSWERS:]
        recording = self.recordings.get(bot.token)
        return {
            "version": bot.version,
            "bot": bot.me(),
            "users": PAGE_USERS,
            "group": GROUP,
            "chats": views.chat_list(bot),
            "chat": chat_id,
            "timeline": views.timeline(bot, chat_id),
            "reply_keyboard": bot.reply_keyboards.get(chat_id),
            "blocked": chat_id in bot.blocked_by,
            "commands": views.commands(bot),
            "webhook": views.webhook_view(bot),
            "calls": views.traffic(bot, int(request.query.get("calls_after", "0"))),
            "answers": {query_id: answer for query_id, answer in answers if answer is not None},
            "recording": {
                "on": bot.token in self.recording_on,
                "steps": len(recording.steps) if recording else 0,
            },
        }

    async def send(self, bot: BotState, request: web.Request) -> JSON:
        """A page user writes. Body: chat_id, user_id, text, keyboard (a reply keyboard key)."""
        body = await request.json()
        user, chat = _user(int(body["user_id"])), _chat(int(body["chat_id"]), int(body["user_id"]))
        text = str(body["text"])
        update = users.send_text(
            bot,
            text,
            chat_id=chat["id"],
            user_id=user["id"],
            chat_type=chat["type"],
            first_name=user["first_name"],
            chat_title=chat.get("title"),
            language_code=user["language_code"],
        )
        action = "click" if body.get("keyboard") else "send"
        self._record(bot, Step(user, update["message"]["chat"], action, text))
        return update

    async def press(self, bot: BotState, request: web.Request) -> JSON:
        """A page user presses an inline button. Body: chat_id, message_id, callback_data,
        user_id, text (the button's, for the recording)."""
        body = await request.json()
        user, data = _user(int(body["user_id"])), str(body["callback_data"])
        message = {"chat": {"id": int(body["chat_id"])}, "message_id": int(body["message_id"])}
        update = users.press_button(bot, message, data, user_id=user["id"])
        query = update["callback_query"]
        step = Step(user, query["message"]["chat"], "click", str(body.get("text", "")), data)
        step.query_id = query["id"]
        self._record(bot, step)
        return update

    def _record(self, bot: BotState, step: Step) -> None:
        if bot.token in self.recording_on:
            self.recordings[bot.token].record(step)
            bot.changed()  # the page shows the step count

    async def set_recording(self, bot: BotState, request: web.Request) -> JSON:
        """Body: on (true starts a new recording, false stops it; it stays for the export)."""
        body = await request.json()
        if body.get("on"):
            self.recordings[bot.token] = Recording(bot)
            self.recording_on.add(bot.token)
        else:
            self.recording_on.discard(bot.token)
            if bot.token in self.recordings:
                self.recordings[bot.token].finish()
        bot.changed()
        return {"on": bot.token in self.recording_on}

    def export(self, bot: BotState) -> web.StreamResponse:
        """The recording as a pytest file, downloaded."""
        recording = self.recordings.get(bot.token)
        if recording is None:
            raise web.HTTPNotFound(text="Nothing recorded yet: press Record first.")
        name = time.strftime("test_recorded_%Y%m%d_%H%M%S.py", recording.started)
        return web.Response(
            text=recording.export(),
            content_type="text/x-python",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


def _user(user_id: int) -> JSON:
    found = next((u for u in PAGE_USERS if u["id"] == user_id), None)
    if found is None:
        raise ValueError(f"no page user with id {user_id}")
    return dict(found)


def _chat(chat_id: int, user_id: int) -> JSON:
    if chat_id == GROUP["id"]:
        return dict(GROUP)
    if chat_id != user_id:
        raise ValueError("in a private chat the chat id is the user's id")
    return {"id": chat_id, "type": "private"}
