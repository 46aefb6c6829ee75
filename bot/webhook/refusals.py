"""Refused webhook requests and connections, counted and logged as a bounded summary.

Anyone can send requests to a public URL: one log line per refused request would let them fill
the disk (a measured 13k requests wrote 9.4 MB). Each reason (status and cause) is logged when
it first happens, then at most once per interval with how many there were since, and the
last client; the counts stay in memory (a few reasons, not one entry per client).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from bot.runtime.observability.metrics import count_refusal

logger = logging.getLogger(__name__)

# Seconds between two summary lines of the same reason.
SUMMARY_INTERVAL = 10.0


@dataclass
class _Tally:
    count: int = 0
    logged_at: float = -SUMMARY_INTERVAL
    last_client: str = "unknown"


class RefusalLog:
    """Counts refusals per reason; logs a summary line at most once per interval per reason.

    `subject` names what is refused in the log line ("Webhook request", "Connection").
    """

    def __init__(self, subject: str, interval: float = SUMMARY_INTERVAL) -> None:
        self.subject = subject
        self.interval = interval
        self._tallies: dict[str, _Tally] = {}
        self.total = 0

    def refused(self, reason: str, client: str) -> None:
        """Note one refusal; maybe write its reason's summary line."""
        self.total += 1
        tally = self._tallies.setdefault(reason, _Tally())
        tally.count += 1
        tally.last_client = client
        now = time.monotonic()
        if now - tally.logged_at >= self.interval:
            self._write(reason, tally, now)

    def flush(self) -> None:
        """Write what was counted and not logged yet (at shutdown)."""
        now = time.monotonic()
        for reason, tally in self._tallies.items():
            if tally.count:
                self._write(reason, tally, now)

    def _write(self, reason: str, tally: _Tally, now: float) -> None:
        if tally.count == 1:
            logger.warning("%s refused: %s (client %s)", self.subject, reason, tally.last_client)
        else:
            logger.warning(
                "%s refused: %s, %d time(s) in the last %.0f s (last client %s); the same "
                "reason is summarised at most every %.0f s",
                self.subject,
                reason,
                tally.count,
                now - tally.logged_at if tally.logged_at >= 0 else self.interval,
                tally.last_client,
                self.interval,
            )
        tally.count, tally.logged_at = 0, now


# Where aiohttp logs a request it could not parse: its own logger when the app serves alone,
# gunicorn's error log under gunicorn's aiohttp worker (which passes gunicorn's logger).
PARSER_ERROR_LOGGERS = ("aiohttp.server", "gunicorn.error")
# "Error handling request": the request line or headers; "Unhandled exception": the rest of a
# body aiohttp reads itself after the answer (a refused request's), in broken framing/encoding.
PARSER_ERROR_MESSAGES = ("Error handling request from %s", "Unhandled exception")
PARSER_ERRORS = (HttpProcessingError, RequestPayloadError)


class MalformedRequestFilter(logging.Filter):
    """Turns aiohttp's "Error handling request" ERROR with a 10-40 line traceback, written for
    every request its HTTP parser rejects, into the bounded WARNING summary of a refusal.

    Only parser errors (bad request line, header, framing, content encoding) are rewritten; any
    other exception there is a bug and keeps its traceback.
    """

    def __init__(self) -> None:
        super().__init__()
        self.refusals = RefusalLog("Malformed HTTP request")

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if record.msg not in PARSER_ERROR_MESSAGES or not isinstance(exc, PARSER_ERRORS):
            return True
        client = record.args[0] if isinstance(record.args, tuple) and record.args else None
        cause = exc.__cause__ if isinstance(exc, RequestPayloadError) and exc.__cause__ else exc
        count_refusal(400, "malformed_http")
        self.refusals.refused(f"400 {type(cause).__name__}", str(client or "unknown"))
        return False


def quiet_parser_errors() -> None:
    """Install the filter on the loggers aiohttp reports parser errors to (once per process)."""
    for name in PARSER_ERROR_LOGGERS:
        log = logging.getLogger(name)
        if not any(isinstance(existing, MalformedRequestFilter) for existing in log.filters):
            log.addFilter(MalformedRequestFilter())
