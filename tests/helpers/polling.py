"""Driving the polling runner in this process."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram.utils.backoff import BackoffConfig

from bot.owner import BotRuntime
from bot.polling.runner import PollingRunner

# Retries a test can wait for: 50 ms, doubling to 200 ms.
FAST_BACKOFF = BackoffConfig(min_delay=0.05, max_delay=0.2, factor=2, jitter=0)


class RunningBot:
    """A PollingRunner running as a task of the test's loop."""

    def __init__(self, runner: PollingRunner, task: asyncio.Task[int]) -> None:
        self.runner = runner
        self.task = task

    async def exit_code(self, timeout: float = 30.0) -> int:
        """Wait for the runner to end by itself."""
        return await asyncio.wait_for(asyncio.shield(self.task), timeout)

    async def stop(self, timeout: float = 30.0) -> int:
        """What Ctrl+C does: request a stop, wait for the exit code."""
        self.runner.request_stop()
        return await self.exit_code(timeout)


def poll_in_background(runtime: BotRuntime, **kwargs: Any) -> RunningBot:
    """A PollingRunner on `runtime` as a task, opening the runtime (unless opened already)
    and closing it around its run as `python run.py` does; `kwargs` go to the runner."""
    runner = PollingRunner(runtime, **kwargs)

    async def run() -> int:
        try:
            if not runtime.opened:
                await runtime.open()
            return await runner.run()
        finally:
            await runtime.close()

    return RunningBot(runner, asyncio.create_task(run()))
