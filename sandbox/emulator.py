"""`Emulator`: the Bot API emulator as an async context manager, with a Python control API."""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from aiohttp import web

from sandbox import users, webhooks
from sandbox.api import BotApiRoutes, not_found_handler
from sandbox.control import ControlRoutes
from sandbox.delivery import DeliveryManager
from sandbox.flood import FloodLimits
from sandbox.records import ApiCall, Delivery, EmulatorSettings, Fault, Signal, WebhookState
from sandbox.registry import BotRegistry
from sandbox.state import BotState

JSON = dict[str, Any]


class Emulator:
    """A local Telegram Bot API: `async with Emulator() as tg:` then point a Bot at `tg.base_url`.

    Bot API requests go to `/bot<token>/<method>`; tests act as users and inspect state
    through the methods below (or the same things over HTTP under `/sandbox/...`).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_timeout: float = 60.0,
        retry_first_delay: float = 1.0,
        retry_max_delay: float = 60.0,
        webhook_change_interval: float = 1.0,
        delivery_ssl: ssl.SSLContext | None = None,
        official_webhook_rules: bool = False,
        max_records: int = 10_000,
        test_plugins: tuple[str, ...] = (),
        test_settings: Mapping[str, str] | None = None,
        flood_limits: FloodLimits | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.settings = EmulatorSettings(
            webhook_timeout=webhook_timeout,
            retry_first_delay=retry_first_delay,
            retry_max_delay=retry_max_delay,
            webhook_change_interval=webhook_change_interval,
            delivery_ssl=delivery_ssl,
            official_webhook_rules=official_webhook_rules,
            max_records=max_records,
            test_plugins=test_plugins,
            test_settings=tuple((test_settings or {}).items()),
            flood_limits=flood_limits,
        )
        self.signal = Signal()
        self._delivery = DeliveryManager()
        self.bots = BotRegistry(self.settings, self.signal, self._attach)
        self._runner: web.AppRunner | None = None

    def _attach(self, bot: BotState) -> None:
        bot.on_webhook_change = self._delivery.webhook_changed

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start serving; `self.port` is the real port afterwards."""
        await self._delivery.start()
        app = web.Application()
        BotApiRoutes(self.bots).add_to(app)
        ControlRoutes(self).add_to(app)
        # copier: if sandbox
        from sandbox.chat_page import ChatPage  # a project without the sandbox has no page

        ChatPage(self.bots).add_to(app)
        # copier: endif
        app.router.add_route("*", "/{tail:.*}", not_found_handler)
        # handler_cancellation: a client that hangs up stops its parked getUpdates.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Answer parked long polls, stop webhook delivery, close the server."""
        for bot in self.bots.all():
            bot.wake_long_poll()
        await self._delivery.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """`http://host:port`, for `TelegramAPIServer.from_base(tg.base_url)`."""
        return f"http://{self.host}:{self.port}"

    def bot(self, token: str) -> BotState:
        """The state behind `token` (created on first use). ValueError for a malformed token."""
        try:
            return self.bots.get(token)
        except Exception as error:
            raise ValueError(f"sandbox: malformed bot token ({error})") from None

    # -- acting as users -----------------------------------------------------------------

    def send_text(
        self,
        token: str,
        text: str,
        chat_id: int = 100,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str | None = None,
        username: str | None = None,
        chat_title: str | None = None,
        language_code: str = "en",
    ) -> JSON:
        """A user writes `text` (in an app set to `language_code`); returns the queued Update."""
        return users.send_text(
            self.bot(token),
            text,
            chat_id=chat_id,
            user_id=user_id,
            chat_type=chat_type,
            first_name=first_name,
            username=username,
            chat_title=chat_title,
            language_code=language_code,
        )

    def send_command(
        self,
        token: str,
        command: str,
        chat_id: int = 100,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str | None = None,
        username: str | None = None,
        chat_title: str | None = None,
        language_code: str = "en",
    ) -> JSON:
        """A user sends a command such as "/start"; returns the queued Update."""
        if not command.startswith("/"):
            raise ValueError(f"sandbox: a command starts with '/', got {command!r}")
        fields = (chat_id, user_id, chat_type, first_name, username, chat_title, language_code)
        return self.send_text(token, command, *fields)

    def press_button(
        self, token: str, message: JSON, callback_data: str, user_id: int | None = None
    ) -> JSON:
        """A user presses an inline button of a bot message; returns the queued Update."""
        return users.press_button(self.bot(token), message, callback_data, user_id=user_id)

    def edit_user_message(self, token: str, chat_id: int, message_id: int, text: str) -> JSON:
        """A user edits their message; returns the queued `edited_message` Update."""
        return users.edit_user_message(self.bot(token), chat_id, message_id, text)

    def add_chats(self, token: str, chat_ids: list[int], chat_type: str = "private") -> None:
        """Chats whose users wrote to the bot long ago (the bot may write to them; no update
        is pending): the audience of a broadcast."""
        users.add_chats(self.bot(token), chat_ids, chat_type)

    def block_bot(self, token: str, user_id: int, blocked: bool = True) -> None:
        """A user blocks the bot (or, with blocked=False, unblocks it): writing to them is a
        403 `Forbidden: bot was blocked by the user`. Their own messages still arrive."""
        users.block_bot(self.bot(token), user_id, blocked)

    # -- reading -------------------------------------------------------------------------

    def bot_messages(self, token: str, chat_id: int) -> list[JSON]:
        """Messages the bot sent to a chat, oldest first, edits applied, deleted ones gone."""
        bot = self.bot(token)
        return [
            dict(m) for m in bot.messages.get(chat_id, {}).values() if m["from"]["id"] == bot.bot_id
        ]

    async def wait_bot_messages(
        self,
        token: str,
        chat_id: int,
        count: int,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> list[JSON]:
        """Wait until the bot has sent at least `count` messages to the chat; return them all."""
        await self.wait_until(
            lambda: len(self.bot_messages(token, chat_id)) >= count,
            timeout,
            f"{count} bot message(s) in chat {chat_id} (have {{have}})",
            have=lambda: len(self.bot_messages(token, chat_id)),
        )
        return self.bot_messages(token, chat_id)

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 (the contract's signature)
        what: str = "a condition",
        have: Callable[[], Any] | None = None,
    ) -> None:
        """Wait until `predicate()` holds; it is re-checked on every change of emulator state."""
        try:
            await self.signal.wait_until(predicate, timeout, what)
        except TimeoutError as error:
            if have is None:
                raise
            raise TimeoutError(str(error).replace("{have}", str(have()))) from None

    async def wait_api_calls(
        self,
        token: str,
        method: str,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> list[ApiCall]:
        """Wait until `method` has been answered at least `count` times; return those calls."""
        await self.wait_until(
            lambda: len(self.api_calls(token, method)) >= count,
            timeout,
            f"{count} {method} call(s)",
        )
        return self.api_calls(token, method)

    async def wait_deliveries(
        self,
        token: str,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> list[Delivery]:
        """Wait until at least `count` webhook deliveries have finished; return all deliveries."""
        await self.wait_until(
            lambda: sum(d.finished is not None for d in self.deliveries(token)) >= count,
            timeout,
            f"{count} finished webhook deliveries",
        )
        return self.deliveries(token)

    def api_calls(self, token: str, method: str | None = None) -> list[ApiCall]:
        """Answered Bot API calls, oldest first; `method` filters (case-insensitive)."""
        calls = self.bot(token).calls
        if method is None:
            return list(calls)
        return [c for c in calls if c.method.lower() == method.lower()]

    def flood_report(self, token: str) -> JSON:
        """Flood control: the limits, the 429s answered, each chat's send rate (empty when the
        emulator enforces no limits)."""
        flood = self.bot(token).flood
        return flood.report() if flood is not None else {"limits": None, "chats": []}

    def webhook(self, token: str) -> WebhookState:
        """The webhook as getWebhookInfo sees it, plus its secret."""
        return self.bot(token).webhook_state()

    def deliveries(self, token: str) -> list[Delivery]:
        """Webhook delivery attempts, oldest first (copies; an in-flight one has finished=None)."""
        return [dataclasses.replace(d) for d in self.bot(token).deliveries]

    def pending_updates(self, token: str) -> list[JSON]:
        """Updates queued and not yet confirmed (by an offset or a 2xx webhook answer)."""
        return list(self.bot(token).updates.values())

    # -- faults --------------------------------------------------------------------------

    def inject_fault(
        self,
        token: str,
        method: str,
        status: int = 500,
        count: int = 1,
        retry_after: int | None = None,
        drop: bool = False,
        description: str | None = None,
    ) -> None:
        """The next `count` calls of `method` get `status` (or, with `drop`, a closed socket)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        self.bot(token).faults.append(Fault(method, count, status, description, retry_after, drop))

    def pause_delivery(self, token: str) -> None:
        """Hold webhook delivery (requests in flight finish); updates keep queueing."""
        self.bot(token).delivery_paused = True

    def resume_delivery(self, token: str) -> None:
        """Resume webhook delivery."""
        bot = self.bot(token)
        bot.delivery_paused = False
        bot.delivery_wakeup.set()

    def set_webhook_directly(
        self,
        token: str,
        url: str,
        secret_token: str | None = None,
        max_connections: int | None = None,
        allowed_updates: list[str] | None = None,
        drop_pending_updates: bool = False,
    ) -> WebhookState:
        """Set (or with url="" delete) the webhook as setWebhook would, without its rate limit."""
        params: JSON = {"url": url, "drop_pending_updates": drop_pending_updates}
        optional = {
            "secret_token": secret_token,
            "max_connections": max_connections,
            "allowed_updates": allowed_updates,
        }
        params.update({key: value for key, value in optional.items() if value is not None})
        bot = self.bot(token)
        webhooks.set_webhook(bot, params, internal=True)
        return bot.webhook_state()
