"""409 Conflict while polling: another poller on this token, or a webhook.

- another poller: one diagnosis, retries for POLLING_CONFLICT_GRACE seconds (a brief overlap,
  such as a restart on another host, is survived), then exit 5;
- a webhook is active: polling would switch production off, so exit 4 and explain.
"""

from __future__ import annotations

import logging
import time

from aiogram.exceptions import TelegramConflictError
from aiogram.utils.backoff import BackoffConfig

logger = logging.getLogger(__name__)


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

    def retry_backoff(self) -> BackoffConfig:
        """Delays between retries, short enough that our own waiting never looks quiet."""
        longest = max(min(5.0, self.quiet_after / 2), 0.05)
        return BackoffConfig(min_delay=min(1.0, longest / 2), max_delay=longest, factor=2, jitter=0)

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


def is_webhook_conflict(exc: TelegramConflictError) -> bool:
    """True for 409 "can't use getUpdates method while webhook is active"."""
    return "webhook" in exc.message.lower()


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


def lease_lost_message() -> str:
    """Exit 3 while polling: another host took the shared lease while this one could not renew."""
    return (
        "Another poller took this bot's polling lease while the shared state could not be "
        "reached from here: it polls now, so this one stopped (exit 3) rather than fight it. Run "
        "`python -m bot doctor` to see which host holds the lease."
    )
