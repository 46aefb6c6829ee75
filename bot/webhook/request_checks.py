"""What a webhook request must pass before its update reaches the dispatcher: the client
address, the secret, the worker's cap, the body's encoding and size, and the body itself
read in time and validated as an Update once.

Refusals: 400 not JSON, not an Update, or a body its framing or encoding contradicts; 401
missing or wrong secret; 403 not from Telegram's networks (when the allowlist is on); 408 body
not received in WEB_READ_TIMEOUT; 413 body too large; 415 compressed (Telegram never
compresses); 503 overloaded. An update aiogram cannot read although the secret was right is
answered 200 and logged as an ERROR (refusing it would block its chat for a day). Refusals
are counted by kind and logged as a bounded summary per reason (`refusals.py`), never with a
secret's value.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from http import HTTPStatus

from aiogram import Bot
from aiogram.types import Update
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import ValidationError

from bot.runtime.observability.metrics import count_refusal
from bot.runtime.updates.unreadable import (
    Unreadable,
    first_problem,
    report_unreadable,
    update_id_of,
)
from bot.webhook.client_ip import ClientAddressResolver, is_telegram_address
from bot.webhook.refusals import RefusalLog

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


class RequestChecks:
    """Refuses a request that is not Telegram's update, or that this worker cannot take now."""

    def __init__(
        self,
        bot: Bot,
        *,
        secret: str,
        max_body_bytes: int,
        max_in_flight: int,
        read_timeout: float,
        client_addresses: ClientAddressResolver,
        ip_allowlist: bool,
    ) -> None:
        """`max_in_flight` caps the requests past the secret check (see `before_body`)."""
        self.max_body_bytes = max_body_bytes
        self.max_in_flight = max_in_flight
        self.read_timeout = read_timeout
        self.client_addresses = client_addresses
        self.ip_allowlist = ip_allowlist
        self._secret = secret.encode("ascii")
        self._validation_context = {"bot": bot}
        self.refusals = RefusalLog("Webhook request")

    def before_body(self, request: web.Request, accepted: int) -> web.Response | None:
        """The answer to a request refused before its body is read, or None to go on;
        `accepted` is how many requests past the secret check are not answered yet."""
        if self.ip_allowlist:
            address = self.client_addresses.resolve(request)
            if not is_telegram_address(address):
                return self.refuse(request, 403, "not_telegram", "not from Telegram's networks")
        token = request.headers.get(SECRET_HEADER)
        if token is None:
            return self.refuse(request, 401, "no_secret", "no secret header")
        try:
            token_bytes = token.encode("ascii")
        except UnicodeEncodeError:
            return self.refuse(request, 401, "wrong_secret", "non-ASCII secret header")
        if not hmac.compare_digest(token_bytes, self._secret):
            return self.refuse(request, 401, "wrong_secret", "wrong secret header")
        # Before reading the body: at overload, spend as little as possible on a request.
        if accepted >= self.max_in_flight:
            return self.refuse(
                request, 503, "overloaded", "overloaded: WEBHOOK_MAX_IN_FLIGHT updates in flight"
            )
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            # Telegram never compresses: a compressed body is someone else's, and decoding
            # it would be work (and a decompression bomb) for nothing.
            return self.refuse(
                request, 415, "compressed", "compressed body (Telegram never compresses)"
            )
        length = request.content_length
        if length is not None and length > self.max_body_bytes:
            return self.refuse(request, 413, "too_large", "body over the limit")
        return None

    async def read_update(self, request: web.Request) -> Update | web.Response:
        """The body validated as an Update, or the answer refusing it."""
        try:
            async with asyncio.timeout(self.read_timeout):
                body = await request.read()  # client_max_size bounds chunked bodies too
        except web.HTTPRequestEntityTooLarge:
            return self.refuse(request, 413, "too_large", "body over the limit")
        except TimeoutError:
            return self.refuse(
                request, 408, "read_timeout", "body not received within WEB_READ_TIMEOUT"
            )
        except (OSError, HttpProcessingError, web.RequestPayloadError) as exc:
            # The client left, or sent a body its own framing or encoding contradicts.
            reason = f"body not received ({type(exc).__name__})"
            return self.refuse(request, 400, "body_not_received", reason)
        try:
            return Update.model_validate_json(body, context=self._validation_context)
        except ValidationError as exc:
            return self._not_an_update(request, body, exc)

    def _not_an_update(
        self, request: web.Request, body: bytes, exc: ValidationError
    ) -> web.Response:
        try:
            update_id = update_id_of(json.loads(body))
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python parses
            update_id = None
        if update_id is None:
            reason = f"body is not a Telegram Update ({first_problem(exc)})"
            return self.refuse(request, 400, "not_an_update", reason)
        # The secret was right: Telegram sent it, in a shape aiogram cannot read.
        report_unreadable(Unreadable(update_id, first_problem(exc)), "answered 200 and skipped")
        return web.Response()

    def refuse(self, request: web.Request, status: int, kind: str, reason: str) -> web.Response:
        """A refusal: counted by `kind` (a metrics label), logged in the summary by `reason`."""
        count_refusal(status, kind)
        client = self.client_addresses.resolve(request)
        self.refusals.refused(f"{status} {reason}", str(client) if client else "unknown")
        return web.Response(status=status, text=HTTPStatus(status).phrase)


def unavailable(kind: str, what: str) -> web.Response:
    """A 503 (Telegram retries later), counted by `kind`."""
    count_refusal(503, kind)
    return web.Response(status=503, text=f"{what}, retry later")
