"""`getUpdates`: long polling with Telegram's offsets, limits and 409 Conflicts."""

from __future__ import annotations

import asyncio
from typing import Any

from sandbox.errors import WEBHOOK_IS_ACTIVE, BotApiError
from sandbox.params import get_int, get_json
from sandbox.state import BotState

JSON = dict[str, Any]
LONG_POLL_MAX_TIMEOUT = 50  # seconds, the Bot API server's LONG_POLL_MAX_TIMEOUT


async def get_updates(bot: BotState, params: JSON) -> list[JSON]:
    """Answer getUpdates, parking the request until an update arrives or `timeout` passes.

    As in the Bot API server, only a request that actually parks terminates the one parked
    before it (409), so the newest long poll wins; a webhook makes every call a 409.
    """
    if bot.webhook_url:
        raise BotApiError(409, WEBHOOK_IS_ACTIVE)
    offset = get_int(params, "offset", 0)
    limit = min(max(get_int(params, "limit", 100), 1), 100)
    timeout = min(max(get_int(params, "timeout", 0), 0), LONG_POLL_MAX_TIMEOUT)
    if "allowed_updates" in params:
        bot.set_allowed_updates(get_json(params, "allowed_updates"))

    # The offset confirms at the start of the call: whatever happens to this request later,
    # the updates below it are gone.
    if offset < 0:
        bot.keep_last(-offset)
    elif offset > 0:
        bot.confirm_below(offset)

    updates = bot.head(limit)
    if updates or timeout == 0:
        return updates
    waiter = bot.park_long_poll()
    try:
        # shield: a timeout must not cancel the future another request may still resolve.
        await asyncio.wait_for(asyncio.shield(waiter), timeout)
    except TimeoutError:
        pass
    finally:
        bot.release_long_poll(waiter)
    return bot.head(limit)
