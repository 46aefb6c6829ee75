"""The Bot API side: `/bot<token>/<method>` over HTTP, and the method table behind it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox import methods, polling, webhooks
from sandbox.errors import BotApiError, not_found
from sandbox.params import normalise, parse_body
from sandbox.records import Answer, ApiCall
from sandbox.registry import BotRegistry
from sandbox.state import BotState

JSON = dict[str, Any]
Method = Callable[[BotState, JSON], Awaitable[Any]]


def _sync(function: Callable[[BotState, JSON], Any]) -> Method:
    async def method(bot: BotState, params: JSON) -> Any:
        return function(bot, params)

    return method


async def _delete_webhook(bot: BotState, params: JSON) -> Answer:
    return webhooks.set_webhook(bot, params, delete=True)


async def _set_webhook(bot: BotState, params: JSON) -> Answer:
    return webhooks.set_webhook(bot, params)


async def _get_webhook_info(bot: BotState, params: JSON) -> JSON:
    return webhooks.get_webhook_info(bot)


_METHODS: dict[str, Method] = {
    "getMe": _sync(methods.get_me_method),
    "getUpdates": polling.get_updates,
    "setWebhook": _set_webhook,
    "deleteWebhook": _delete_webhook,
    "getWebhookInfo": _get_webhook_info,
    "sendMessage": _sync(methods.send_message),
    "editMessageText": _sync(methods.edit_message_text),
    "editMessageReplyMarkup": _sync(methods.edit_message_reply_markup),
    "deleteMessage": _sync(methods.delete_message),
    "answerCallbackQuery": _sync(methods.answer_callback_query),
    "sendChatAction": _sync(methods.send_chat_action),
    "setMyCommands": _sync(methods.set_my_commands),
    "getMyCommands": _sync(methods.get_my_commands),
    "deleteMyCommands": _sync(methods.delete_my_commands),
    "getChat": _sync(methods.get_chat),
    "close": _sync(methods.always_true),
    "logOut": _sync(methods.always_true),
}
# Telegram matches method names case-insensitively.
METHODS: dict[str, tuple[str, Method]] = {name.lower(): (name, m) for name, m in _METHODS.items()}


async def execute(bot: BotState, method: str, params: JSON, via: str = "http") -> tuple[int, JSON]:
    """Run one Bot API call, log it in `bot.calls`, and return (HTTP status, JSON body)."""
    name, function = METHODS.get(method.lower(), (method, None))
    started = time.monotonic()
    try:
        if function is None:
            raise not_found()
        bot.admit(name, params)
        result = await function(bot, params)
    except asyncio.CancelledError:
        # The client hung up (a long poll it gave up on): recorded, so that a test sees it ran.
        closed = ApiCall(name, params, False, None, None, "client closed the connection", via)
        bot.record_call(closed.timed(started))
        raise
    except BotApiError as error:
        failed = ApiCall(name, params, False, None, error.error_code, error.description, via)
        bot.record_call(failed.timed(started))
        return error.error_code, error.body()
    body: JSON = {"ok": True}
    if isinstance(result, Answer):
        body["result"], body["description"] = result.result, result.description
    else:
        body["result"] = result
    answered = ApiCall(name, params, True, body["result"], None, body.get("description"), via)
    bot.record_call(answered.timed(started))
    return 200, body


class BotApiRoutes:
    """aiohttp handlers for `/bot<token>/<method>` (GET or POST)."""

    def __init__(self, bots: BotRegistry) -> None:
        self.bots = bots

    def add_to(self, app: web.Application) -> None:
        """Register the Bot API routes on `app`."""
        app.router.add_route("*", "/bot{token}/{method}", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one Bot API request the way api.telegram.org would."""
        method = request.match_info["method"]
        try:
            bot = self.bots.get(request.match_info["token"])
            raw: JSON = dict(request.query)
            if request.method == "POST":
                raw.update(
                    parse_body(request.headers.get("Content-Type", ""), await request.read())
                )
        except BotApiError as error:
            return web.json_response(error.body(), status=error.error_code)
        params = normalise(raw)

        fault = bot.take_fault(method)
        if fault is not None:
            name = METHODS.get(method.lower(), (method, None))[0]
            body = fault.answer()
            failed = ApiCall(name, params, False, None, fault.status, body["description"], "fault")
            bot.record_call(failed.timed(time.monotonic()))
            if fault.drop:
                return _drop_connection(request)
            return web.json_response(body, status=fault.status)

        status, body = await execute(bot, method, params)
        return web.json_response(body, status=status)


def _drop_connection(request: web.Request) -> web.StreamResponse:
    # Close the socket without an answer: the client sees "server disconnected". The
    # response returned afterwards is discarded by aiohttp, since its transport is gone.
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=499)


async def not_found_handler(request: web.Request) -> web.Response:
    """Any other path: Telegram's JSON 404."""
    return web.json_response(not_found().body(), status=404)
