"""The incoming-throttling section (anti-spam): how many updates one user may have handled.

A user who sends more than THROTTLE_LIMIT updates in THROTTLE_WINDOW seconds gets one "slow
down" notice, and what they send after it is dropped before any handler runs, until they
slow down. The default lets a person type, tap and forward freely (20 updates in 10 seconds
is two a second, sustained) and stops a script or a stuck key long before it costs the bot's
outgoing budget.
"""

from __future__ import annotations

from pydantic import BaseModel

from bot.settings.fields import setting


class ThrottleSettings(BaseModel):
    """Incoming throttling: updates one user may have handled per window (the bot's admins
    are exempt; with the shared state the count is shared by every process)."""

    throttle_limit: int = setting(
        20,
        "updates one user may have handled per THROTTLE_WINDOW; more are dropped after one "
        "notice (0: no limit)",
        ge=0,
        le=100_000,
    )
    throttle_window: float = setting(
        10.0, "seconds of the window THROTTLE_LIMIT counts in", gt=0, le=86_400
    )
