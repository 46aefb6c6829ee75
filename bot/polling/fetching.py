"""One getUpdates of the polling loop: cut short when the polling lease says fetching must
stop, and a batch aiogram cannot read taken apart instead of failing forever."""

from __future__ import annotations

import asyncio

from aiogram import Bot
from aiogram.exceptions import ClientDecodeError
from aiogram.methods import GetUpdates

from bot.polling.intake import Batch
from bot.runtime.single_poller.lease import SharedLease
from bot.runtime.stop_signals import StopRequest
from bot.runtime.updates.unreadable import Unreadable, report_unreadable, split_batch


async def fetch_batch(
    bot: Bot, request: GetUpdates, http_timeout: int, stop: StopRequest, lease: SharedLease | None
) -> Batch | None:
    """getUpdates, or None when the lease halted fetching (StopRequested once stopped).

    A batch holding an update aiogram cannot validate comes back update by update, the
    unreadable ones logged and marked to be confirmed: retrying it would fail forever.
    """
    try:
        return await _get_updates(bot, request, http_timeout, stop, lease)
    except ClientDecodeError as exc:
        batch = split_batch(exc, bot)
        if batch is None:
            raise  # not a batch of updates: the Bot API is unusable, retried as an outage
    for item in batch:
        if isinstance(item, Unreadable):
            report_unreadable(item, "skipped, and confirmed with the rest of its batch")
    return batch


async def _get_updates(
    bot: Bot, request: GetUpdates, http_timeout: int, stop: StopRequest, lease: SharedLease | None
) -> Batch | None:
    if lease is None:
        return await stop.until_stopped(bot(request, http_timeout))
    work = asyncio.ensure_future(bot(request, http_timeout))
    halted = asyncio.ensure_future(lease.halted.wait())
    try:
        await stop.until_stopped(asyncio.wait({work, halted}, return_when=asyncio.FIRST_COMPLETED))
    finally:
        halted.cancel()
        if not work.done():
            work.cancel()  # closes the long poll before the lease can expire
            await asyncio.wait({work})
    return None if work.cancelled() else work.result()
