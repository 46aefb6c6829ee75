"""What Telegram says about the webhook, as metrics: each worker calls getWebhookInfo every
WEBHOOK_INFO_INTERVAL seconds (a few calls a minute, far below any limit).

`pending_update_count` growing while no update arrives, or a recent `last_error_date`, is
what the alert rules in deploy/monitoring/ look for: Telegram cannot deliver.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bot.runtime.observability.metrics import record_webhook_info
from bot.runtime.outgoing.api_errors import API_UNAVAILABLE, describe_error

logger = logging.getLogger(__name__)
_FAILURES: tuple[type[BaseException], ...] = (TelegramAPIError, *API_UNAVAILABLE)


class WebhookInfoWatch:
    """Records getWebhookInfo in the metrics, now and then every `interval` seconds."""

    def __init__(self, bot: Bot, interval: float) -> None:
        self.bot = bot
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def start(self) -> None:
        """Start in the background (nothing with an interval of 0)."""
        if self.interval > 0:
            self._task = asyncio.create_task(self._run(), name="webhook-info")

    async def stop(self) -> None:
        """Stop asking."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await self.record_once()
            await asyncio.sleep(self.interval)

    async def record_once(self) -> None:
        """One getWebhookInfo; a failure is logged once until a call succeeds again."""
        try:
            info = await self.bot.get_webhook_info(request_timeout=10)
        except _FAILURES as exc:
            if not self._failing:
                logger.warning(
                    "getWebhookInfo failed (%s): the pending-updates metric is not updated "
                    "until it answers again.",
                    describe_error(exc),
                )
            self._failing = True
            return
        self._failing = False
        last_error = info.last_error_date.timestamp() if info.last_error_date else None
        record_webhook_info(info.pending_update_count, last_error)
