"""The end of a polling run: let the running handlers finish, then confirm the offset.

Every update below the offset is settled (see bot.polling.intake); updates fetched but never
started, or unfinished with the shared state, are above it and will be delivered again.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import GetUpdates
from aiogram.utils.backoff import BackoffConfig

from bot.polling.update_tasks import UpdateTasks
from bot.runtime.outgoing.api_errors import API_UNAVAILABLE, describe_error
from bot.runtime.outgoing.retry import RetryPolicy, call_with_retry

logger = logging.getLogger(__name__)

# Seconds one attempt of the final offset confirmation may take at shutdown, and its retries.
CONFIRM_TIMEOUT = 5
CONFIRM_RETRY = RetryPolicy(
    attempts=3,
    network=True,
    backoff=BackoffConfig(min_delay=0.5, max_delay=1.0, factor=2, jitter=0),
)
# Once the user abandoned the handlers (a second Ctrl+C), they want out: one attempt only.
CONFIRM_ONCE = RetryPolicy(attempts=1, network=True)
# What a best-effort request at the edges (shutdown, a last diagnosis) may run into.
ANY_API_ERROR: tuple[type[BaseException], ...] = (TelegramAPIError, *API_UNAVAILABLE)


async def finish_handlers(tasks: UpdateTasks, grace: float, abandon: asyncio.Event) -> None:
    """Wait up to `grace` seconds (SHUTDOWN_TIMEOUT) for the running handlers, or until
    `abandon` is set; the ones still running are named in one ERROR."""
    abandoned = await tasks.drain(grace, abandon)
    if not abandoned:
        return
    when = (
        "at the second stop request"
        if abandon.is_set()
        else f"still running after SHUTDOWN_TIMEOUT={grace:.0f} s"
    )
    logger.error(
        "Abandoned %d handler(s) %s: update id(s) %s. Those updates count as received "
        "and are not delivered again; raise SHUTDOWN_TIMEOUT if handlers need longer.",
        len(abandoned),
        when,
        ", ".join(map(str, abandoned)),
    )


async def confirm_offset(bot: Bot, offset: int | None, *, hurried: bool) -> None:
    """Tell Telegram which updates were received, so a restart does not get them again;
    `hurried` (handlers abandoned) tries once. A failure is a WARNING, never an exception."""
    if offset is None:
        return
    confirm = GetUpdates(offset=offset, timeout=0, limit=1)
    policy = CONFIRM_ONCE if hurried else CONFIRM_RETRY
    try:
        await call_with_retry(
            lambda: bot(confirm, CONFIRM_TIMEOUT), "Confirming the offset", policy
        )
        return
    except ANY_API_ERROR as exc:
        error = exc
    logger.warning(
        "Could not confirm the updates handled before %d (%s): Telegram will deliver them "
        "again at the next start.",
        offset,
        describe_error(error),
    )
