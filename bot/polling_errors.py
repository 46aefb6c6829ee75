"""What the poller does when getUpdates fails: which errors are retried, how long it waits,
what it tells the person running the bot.

Three kinds of trouble, three answers:
- the Bot API cannot be reached (network, DNS, timeouts, 5xx): retry with bounded backoff,
  one warning per outage and one line when the connection is back;
- 409 Conflict from another poller: one diagnosis, retries for POLLING_CONFLICT_GRACE seconds
  (a brief overlap, such as a restart on another host, is survived), then exit 5;
- a webhook is active: polling would switch production off, so exit 4 and explain.
"""

from __future__ import annotations

import logging
import time

from aiogram.exceptions import (
    ClientDecodeError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramServerError,
)
from aiohttp import ClientError

logger = logging.getLogger("bot.polling")

# Errors meaning "the Bot API is unreachable or unwell right now": retried, never fatal.
# OSError covers what aiohttp does not wrap, e.g. Windows' "[WinError 121] The semaphore
# timeout period has expired" after a laptop wakes up; ClientDecodeError is an HTML error
# page from a proxy in front of a local Bot API server.
API_UNAVAILABLE: tuple[type[BaseException], ...] = (
    TelegramNetworkError,
    TelegramServerError,
    ClientDecodeError,
    ClientError,
    OSError,
    TimeoutError,
)

# Telegram's 429 answers carry retry_after; a bound keeps a bogus value from freezing the bot.
MAX_RETRY_AFTER = 60.0


class Backoff:
    """Exponential delays: `first`, doubling, never more than `maximum`."""

    def __init__(self, first: float = 1.0, maximum: float = 30.0) -> None:
        self.first = first
        self.maximum = maximum
        self._next = first

    def next_delay(self) -> float:
        """The delay to wait now; the following one is twice as long (up to the maximum)."""
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        return delay

    def reset(self) -> None:
        """Back to the first delay, after a success."""
        self._next = self.first


class OutageLog:
    """Logs an outage of the Bot API once when it starts and once when it ends."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.since: float | None = None

    def failed(self, exc: BaseException, retry_in: float) -> None:
        """A request failed for a network reason; only the first failure is a warning."""
        reason = describe_error(exc)
        if self.since is None:
            self.since = time.monotonic()
            logger.warning(
                "Cannot reach the Bot API at %s (%s). Retrying with backoff (at most 30 s "
                "apart); the next line here is when the connection is back.",
                self.api_url,
                reason,
            )
        else:
            logger.debug("Bot API still unreachable (%s); next try in %.0f s.", reason, retry_in)

    def succeeded(self) -> None:
        """A request went through: close the outage, if there was one."""
        if self.since is not None:
            logger.info(
                "Connection to the Bot API restored after %.0f s.", time.monotonic() - self.since
            )
            self.since = None


class ConflictStreak:
    """Tracks 409 Conflicts from another poller and decides when to give up.

    Conflicts less than half the grace period apart form one streak; the poller gives up
    when a streak has lasted the whole grace period. A second poller that keeps polling
    produces a conflict every few seconds (aiogram retries within 5 s) and is caught; a
    single overlap, such as a restart elsewhere, is forgotten once things stay quiet.
    """

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.first_at: float | None = None
        self.last_at: float | None = None

    @property
    def quiet_after(self) -> float:
        """Seconds without a conflict that end a streak."""
        return self.grace / 2

    def retry_backoff(self) -> Backoff:
        """Delays between retries, short enough that our own waiting never looks quiet."""
        step = max(min(1.0, self.quiet_after / 2), 0.05)
        return Backoff(first=step, maximum=max(min(5.0, self.quiet_after / 2), 0.05))

    def record(self) -> bool:
        """Note a conflict; True when it starts a new streak (time for the diagnosis)."""
        now = time.monotonic()
        new = self.last_at is None or now - self.last_at >= self.quiet_after
        if new:
            self.first_at = now
        self.last_at = now
        return new

    @property
    def exceeded(self) -> bool:
        """True once conflicts have gone on for the whole grace period."""
        return self.first_at is not None and time.monotonic() - self.first_at >= self.grace

    def poll_succeeded(self) -> None:
        """A getUpdates went through; end the streak if it has been quiet for long enough."""
        if self.last_at is None:
            return
        if time.monotonic() - self.last_at >= self.quiet_after:
            logger.info("No more conflicts: this process receives the bot's updates again.")
            self.first_at = self.last_at = None


def describe_error(exc: BaseException) -> str:
    """A one-line reason for a log line, without a traceback."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def is_webhook_conflict(exc: TelegramConflictError) -> bool:
    """True for 409 "can't use getUpdates method while webhook is active"."""
    return "webhook" in exc.message.lower()


def webhook_active_message(url: str, pending: int) -> str:
    """Exit 4 before polling: a webhook is set for this token."""
    return (
        f"A webhook is set for this bot: {url} ({pending} pending update(s)). Polling would "
        "take the updates away from it, and this token is probably your production bot's. "
        "Either use a separate development token from @BotFather (/newbot) in your .env.local, "
        "or run `python run.py --takeover` to delete the webhook (pending updates are kept) and "
        "poll with this token; production then receives nothing until the webhook is set again."
    )


def webhook_appeared_message(url: str) -> str:
    """Exit 4 while polling: someone set a webhook for this token (a production deploy?)."""
    shown = url or "(unknown URL)"
    return (
        f"A webhook was set for this bot while it was polling: {shown}. This token is probably "
        "your production bot's, which now receives the updates; polling stopped so as not to "
        "fight it. Use a separate development token from @BotFather (/newbot) for development."
    )


def takeover_message(url: str, pending: int) -> str:
    """Warning after --takeover deleted the webhook."""
    return (
        f"--takeover: deleted the webhook {url}; its {pending} pending update(s) are kept and "
        "will be handled here. Whatever served that webhook receives nothing until it is set "
        "again (`python -m bot webhook set`)."
    )


def conflict_diagnosis(grace: float) -> str:
    """The one warning at the start of a 409 Conflict streak."""
    return (
        "409 Conflict: another process is calling getUpdates with this bot's token, and "
        "Telegram gives the updates to whichever asked last. It is not on this machine's lock, "
        "so look elsewhere: a terminal with a different LOCK_DIR, the same token on your laptop "
        "and on a server, a Docker container, a hosted copy. Run `python -m bot doctor` to help "
        f"find it. Retrying for up to {grace:.0f} s (POLLING_CONFLICT_GRACE) before giving up."
    )


def conflict_exit_message(grace: float) -> str:
    """Exit 5: the other poller did not go away."""
    return (
        f"Giving up after {grace:.0f} s of 409 Conflicts: another poller keeps taking this "
        "bot's updates. Stop the other instance, or give development its own token from "
        "@BotFather; `python -m bot doctor` helps find it."
    )


def unauthorized_message(bot_label: str) -> str:
    """Exit 2: Telegram does not know the token."""
    return (
        f"Telegram rejected the token {bot_label} (401 Unauthorized): it is wrong or was "
        "revoked. Copy the current token from @BotFather (/mybots -> API Token) into BOT_TOKEN."
    )


def api_not_found_message(api_url: str) -> str:
    """Exit 2: what answers at TELEGRAM_API_URL is not a Bot API server."""
    return (
        f"{api_url} answered 404 Not Found to a Bot API call: it is not a Bot API server. "
        "Check TELEGRAM_API_URL (leave it unset for api.telegram.org)."
    )
