"""The control side over HTTP, under `/sandbox/...`, for tests that run the bot in a subprocess.

Every route mirrors a method of `Emulator` and answers `{"ok": true, "result": ...}`, or
`{"ok": false, "description": ...}` with 400 (bad input) or 408 (a wait timed out).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.errors import BotApiError

if TYPE_CHECKING:
    from sandbox.emulator import Emulator

JSON = dict[str, Any]
Route = Callable[[web.Request, JSON], Awaitable[Any]]


def _ok(result: Any) -> web.Response:
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        result = dataclasses.asdict(result)
    elif isinstance(result, list):
        result = [
            dataclasses.asdict(r) if dataclasses.is_dataclass(r) and not isinstance(r, type) else r
            for r in result
        ]
    return web.json_response({"ok": True, "result": result})


class ControlRoutes:
    """aiohttp handlers that drive an `Emulator` over HTTP."""

    def __init__(self, emulator: Emulator) -> None:
        self.tg = emulator

    def add_to(self, app: web.Application) -> None:
        """Register the `/sandbox/...` routes on `app`."""
        bot = "/sandbox/bots/{token}"
        routes: list[tuple[str, str, Route]] = [
            ("POST", f"{bot}/send_text", self.send_text),
            ("POST", f"{bot}/send_command", self.send_command),
            ("POST", f"{bot}/press_button", self.press_button),
            ("POST", f"{bot}/edit_user_message", self.edit_user_message),
            ("GET", f"{bot}/chats/{{chat_id}}/bot_messages", self.bot_messages),
            ("GET", f"{bot}/api_calls", self.api_calls),
            ("GET", f"{bot}/flood", self.flood),
            ("POST", f"{bot}/chats", self.add_chats),
            ("GET", f"{bot}/webhook", self.webhook),
            ("POST", f"{bot}/webhook", self.set_webhook),
            ("GET", f"{bot}/deliveries", self.deliveries),
            ("GET", f"{bot}/pending_updates", self.pending_updates),
            ("POST", f"{bot}/faults", self.inject_fault),
            ("POST", f"{bot}/pause_delivery", self.pause_delivery),
            ("POST", f"{bot}/resume_delivery", self.resume_delivery),
        ]
        app.router.add_get("/sandbox/health", self.health)
        for method, path, route in routes:
            app.router.add_route(method, path, self._wrap(route))

    def _wrap(self, route: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            try:
                body: JSON = await request.json() if request.can_read_body else {}
                if not isinstance(body, dict):
                    raise ValueError("the body must be a JSON object")
                return _ok(await route(request, body))
            except TimeoutError as error:
                return web.json_response({"ok": False, "description": str(error)}, status=408)
            except BotApiError as error:
                return web.json_response(
                    {"ok": False, "description": error.description}, status=400
                )
            except (ValueError, TypeError, KeyError) as error:
                return web.json_response({"ok": False, "description": str(error)}, status=400)

        return handler

    async def health(self, request: web.Request) -> web.Response:
        """Liveness for scripts that start `python -m sandbox`."""
        return web.json_response({"ok": True, "result": {"base_url": self.tg.base_url}})

    async def send_text(self, request: web.Request, body: JSON) -> JSON:
        """Body: text, chat_id, user_id, chat_type, first_name, username, language_code."""
        return self.tg.send_text(request.match_info["token"], **_user_fields(body, "text"))

    async def send_command(self, request: web.Request, body: JSON) -> JSON:
        """Body: command, chat_id, user_id, chat_type, first_name, username, language_code."""
        return self.tg.send_command(request.match_info["token"], **_user_fields(body, "command"))

    async def press_button(self, request: web.Request, body: JSON) -> JSON:
        """Body: chat_id, message_id, callback_data, user_id."""
        token = request.match_info["token"]
        message = {"chat": {"id": int(body["chat_id"])}, "message_id": int(body["message_id"])}
        user_id = body.get("user_id")
        return self.tg.press_button(
            token, message, str(body["callback_data"]), None if user_id is None else int(user_id)
        )

    async def edit_user_message(self, request: web.Request, body: JSON) -> JSON:
        """Body: chat_id, message_id, text."""
        return self.tg.edit_user_message(
            request.match_info["token"],
            int(body["chat_id"]),
            int(body["message_id"]),
            str(body["text"]),
        )

    async def bot_messages(self, request: web.Request, body: JSON) -> list[JSON]:
        """Query: count (wait until at least that many), timeout (seconds, default 10)."""
        token, chat_id = request.match_info["token"], int(request.match_info["chat_id"])
        if "count" in request.query:
            timeout = float(request.query.get("timeout", "10"))
            return await self.tg.wait_bot_messages(
                token, chat_id, int(request.query["count"]), timeout
            )
        return self.tg.bot_messages(token, chat_id)

    async def api_calls(self, request: web.Request, body: JSON) -> list[Any]:
        """Query: method (optional filter)."""
        return list(self.tg.api_calls(request.match_info["token"], request.query.get("method")))

    async def flood(self, request: web.Request, body: JSON) -> JSON:
        """Flood control: the limits, the 429s answered, each chat's send rate."""
        return self.tg.flood_report(request.match_info["token"])

    async def add_chats(self, request: web.Request, body: JSON) -> bool:
        """Body: chat_ids (a list), chat_type (default private)."""
        chat_ids = [int(chat_id) for chat_id in body["chat_ids"]]
        self.tg.add_chats(
            request.match_info["token"], chat_ids, str(body.get("chat_type", "private"))
        )
        return True

    async def webhook(self, request: web.Request, body: JSON) -> Any:
        """The webhook state."""
        return self.tg.webhook(request.match_info["token"])

    async def set_webhook(self, request: web.Request, body: JSON) -> Any:
        """Body: url, secret_token, max_connections, allowed_updates, drop_pending_updates."""
        return self.tg.set_webhook_directly(
            request.match_info["token"],
            str(body.get("url", "")),
            secret_token=body.get("secret_token"),
            max_connections=body.get("max_connections"),
            allowed_updates=body.get("allowed_updates"),
            drop_pending_updates=bool(body.get("drop_pending_updates", False)),
        )

    async def deliveries(self, request: web.Request, body: JSON) -> list[Any]:
        """Webhook delivery attempts."""
        return list(self.tg.deliveries(request.match_info["token"]))

    async def pending_updates(self, request: web.Request, body: JSON) -> list[JSON]:
        """Queued, unconfirmed updates."""
        return self.tg.pending_updates(request.match_info["token"])

    async def inject_fault(self, request: web.Request, body: JSON) -> bool:
        """Body: method, status, count, retry_after, drop, description."""
        retry_after = body.get("retry_after")
        self.tg.inject_fault(
            request.match_info["token"],
            str(body["method"]),
            status=int(body.get("status", 500)),
            count=int(body.get("count", 1)),
            retry_after=None if retry_after is None else int(retry_after),
            drop=bool(body.get("drop", False)),
            description=body.get("description"),
        )
        return True

    async def pause_delivery(self, request: web.Request, body: JSON) -> bool:
        """Hold webhook delivery."""
        self.tg.pause_delivery(request.match_info["token"])
        return True

    async def resume_delivery(self, request: web.Request, body: JSON) -> bool:
        """Resume webhook delivery."""
        self.tg.resume_delivery(request.match_info["token"])
        return True


def _user_fields(body: JSON, text_field: str) -> JSON:
    fields: JSON = {
        text_field: str(body[text_field]),
        "chat_id": int(body.get("chat_id", 100)),
        "chat_type": str(body.get("chat_type", "private")),
    }
    if body.get("user_id") is not None:
        fields["user_id"] = int(body["user_id"])
    for name in ("first_name", "username", "language_code"):
        if body.get(name) is not None:
            fields[name] = str(body[name])
    return fields
