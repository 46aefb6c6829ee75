"""Plain records the emulator keeps and hands to tests: calls, deliveries, webhook state."""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.flood import FloodLimits

JSON = dict[str, Any]


@dataclass(frozen=True)
class EmulatorSettings:
    """Knobs of the emulator that tests turn down to run fast."""

    webhook_timeout: float = 60.0
    retry_first_delay: float = 1.0
    retry_max_delay: float = 60.0
    webhook_change_interval: float = 1.0
    delivery_ssl: ssl.SSLContext | None = None
    # True: refuse http and ports other than 443/80/88/8443, as api.telegram.org does.
    official_webhook_rules: bool = False
    # Calls and deliveries kept per bot (the oldest are forgotten): a sandbox left running
    # for days must not grow without limit.
    max_records: int = 10_000
    # Modules an exported test names in `pytest_plugins`, so it runs outside tests/ too.
    test_plugins: tuple[str, ...] = ()
    # Settings an exported test gives its bot (a `bot_settings` fixture), by variable name:
    # those the recorded bot ran with beyond the project's defaults, e.g. a HANDLERS_MODULE.
    test_settings: tuple[tuple[str, str], ...] = ()
    # Telegram's flood limits, enforced with 429s (None: off, as most tests want).
    flood_limits: FloodLimits | None = None


@dataclass(frozen=True)
class ApiCall:
    """One Bot API call as the emulator answered it (params normalised, see `sandbox.params`)."""

    method: str
    params: JSON
    ok: bool
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    # "http": a request to /bot<token>/<method>; "fault": a request answered by an injected
    # fault; "webhook_reply": a method returned in the body of a webhook answer.
    via: str = "http"
    # When the call arrived and when it was answered (time.monotonic()): a long poll spans both.
    started: float = 0.0
    finished: float = 0.0
    # The bot's event counter when the call was answered: orders calls among its messages.
    seq: int = 0

    def timed(self, started: float) -> ApiCall:
        """This call, answered now after arriving at `started`."""
        return dataclasses.replace(self, started=started, finished=time.monotonic())

    @property
    def duration(self) -> float:
        """Seconds from the request to the answer."""
        return max(self.finished - self.started, 0.0)


@dataclass
class Delivery:
    """One attempt to POST an update to the webhook. `started`/`finished` are monotonic seconds."""

    update_id: int
    url: str
    started: float
    finished: float | None = None
    status: int | None = None
    error: str | None = None
    acknowledged: bool = False
    retry_after: int | None = None
    reply_method: str | None = None


@dataclass(frozen=True)
class WebhookState:
    """A snapshot of the webhook as getWebhookInfo would describe it, plus the secret."""

    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    pending_update_count: int
    last_error_date: int | None
    last_error_message: str | None
    has_custom_certificate: bool = False


@dataclass
class Fault:
    """An error the next `count` calls of `method` get instead of their real answer."""

    method: str
    count: int
    status: int = 500
    description: str | None = None
    retry_after: int | None = None
    drop: bool = False

    def answer(self) -> JSON:
        """The JSON body Telegram would send for this fault."""
        body: JSON = {
            "ok": False,
            "error_code": self.status,
            "description": self.description or default_description(self.status, self.retry_after),
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def default_description(status: int, retry_after: int | None) -> str:
    """Telegram's wording for an error status."""
    if status == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    return {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }.get(status, "Internal Server Error")


@dataclass
class Signal:
    """Wakes every waiter whenever any state changes, so tests wait on events, not sleeps."""

    _waiters: list[asyncio.Future[None]] = field(default_factory=list)

    def notify(self) -> None:
        """Wake all current waiters; they re-check their condition."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float,  # noqa: ASYNC109 (a deadline for many waits, not one)
        what: str = "condition",
    ) -> None:
        """Return once `predicate()` is true; raise TimeoutError naming `what` after `timeout` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"sandbox: timed out after {timeout} s waiting for {what}")
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                continue


@dataclass(frozen=True)
class Answer:
    """A successful result that carries a `description`, as setWebhook's answers do."""

    result: Any
    description: str
