"""`BotTest`, what the `tg` fixture is: the emulator, one bot's token and its running
dispatcher, users to act with, error injection, and the transcript of every chat."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import ErrorEvent, TelegramObject, Update

from sandbox.emulator import Emulator
from sandbox.records import ApiCall
from sandbox.state import BotState
from sandbox.testing.actors import TestChat, TestUser
from sandbox.views import transcript

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
# Seconds a wait gives the bot (to start, to handle an update) before the test fails.
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class BotUnderTest:
    """What the project's `sandbox_bot` fixture yields: its running bot's Bot and Dispatcher."""

    bot: Bot
    dispatcher: Dispatcher


class HandledUpdates:
    """Which updates the dispatcher has finished with, its error handlers included.

    Two outer middlewares: the update's, and the error observer's (aiogram runs the error
    handlers outside the update's middlewares, so an update that failed is finished only
    when they are).
    """

    def __init__(self, on_change: Callable[[], None]) -> None:
        self.finished: set[int] = set()
        self._failing: set[int] = set()
        self._on_change = on_change

    def attach(self, dispatcher: Dispatcher) -> None:
        """Watch `dispatcher` (before it gets the updates of the test)."""
        dispatcher.update.outer_middleware(self._update)
        dispatcher.errors.outer_middleware(self._error)

    def _finish(self, update_id: int) -> None:
        self.finished.add(update_id)
        self._on_change()

    async def _update(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        try:
            return await handler(event, data)
        except Exception:
            self._failing.add(event.update_id)  # the error handlers run next
            raise
        finally:
            if event.update_id not in self._failing:
                self._finish(event.update_id)

    async def _error(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, ErrorEvent)
        try:
            return await handler(event, data)
        finally:
            self._finish(event.update.update_id)


class BotTest:
    """The sandbox Telegram of one test: `tg.user("Ada")`, `tg.fail_next("sendMessage", 429)`."""

    def __init__(self, emulator: Emulator, token: str, running: BotUnderTest) -> None:
        self.emulator = emulator
        self.token = token
        self.bot = running.bot
        self.dispatcher = running.dispatcher
        self.timeout = DEFAULT_TIMEOUT  # seconds every wait gives the bot; raise it for slow ones
        self.handled = HandledUpdates(self.state.changed)
        self._user_ids = itertools.count(1001)
        self._group_ids = itertools.count(-1001, -1)

    @property
    def state(self) -> BotState:
        """The emulator's state of this bot."""
        return self.emulator.bot(self.token)

    async def ready(self) -> None:
        """Watch the dispatcher, then wait until the bot polls (or has set its webhook)."""
        self.handled.attach(self.dispatcher)
        await self.wait_until(
            lambda: self.state.long_poll_parked or bool(self.state.webhook_url),
            "the bot to start polling (or to set its webhook)",
        )

    def user(
        self,
        first_name: str = "Ada",
        *,
        user_id: int | None = None,
        username: str | None = None,
        language_code: str = "en",
    ) -> TestUser:
        """A Telegram user, in their private chat with the bot; `language_code` is their
        app's language."""
        user_id = next(self._user_ids) if user_id is None else user_id
        return TestUser(self, user_id, first_name, username, language_code=language_code)

    def group(self, title: str = "Test group", *, chat_id: int | None = None) -> TestChat:
        """A group chat with the bot; `user.in_(group)` acts there."""
        chat_id = next(self._group_ids) if chat_id is None else chat_id
        return TestChat(self, chat_id, "group", title)

    def fail_next(
        self,
        method: str,
        status: int = 500,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        count: int = 1,
    ) -> None:
        """The next `count` calls of `method` fail with `status`, worded as Telegram does
        (`tg.fail_next("sendMessage", 429, retry_after=3)`)."""
        self.emulator.inject_fault(
            self.token, method, status, count, retry_after=retry_after, description=description
        )

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """The Bot API calls the bot made, oldest first; `method` filters."""
        return self.emulator.api_calls(self.token, method)

    def transcript(self) -> str:
        """Every chat of the test as text: who said what, buttons, failed calls."""
        if not self.state.chats:
            return "(no chats: nobody has written to the bot)"
        return "\n".join(transcript(self.state, chat_id) for chat_id in self.state.chats)

    async def wait_until(self, predicate: Callable[[], bool], what: str) -> None:
        """Wait until `predicate()` holds; fail with the transcript after `timeout` seconds."""
        __tracebackhide__ = True  # a failing test's traceback ends in the test, not here
        seconds = self.timeout
        try:
            await self.emulator.wait_until(predicate, seconds, what)
        except TimeoutError:
            raise AssertionError(
                f"sandbox: timed out after {seconds:g} s waiting for {what}\n{self.transcript()}"
            ) from None

    async def handle(self, update: dict[str, Any], what: str) -> None:
        """Wait until the bot has handled `update` (its error handlers included)."""
        __tracebackhide__ = True
        update_id = update["update_id"]
        if update_id not in self.state.updates:
            kind = next(key for key in update if key != "update_id")
            raise AssertionError(
                f"the bot never receives {kind} updates: they are not in its allowed_updates "
                f"{self.state.allowed_updates} (no handler of the dispatcher uses them)"
            )
        await self.wait_until(lambda: update_id in self.handled.finished, what)
