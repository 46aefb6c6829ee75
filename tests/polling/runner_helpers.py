"""Helpers for driving the polling runner in-process."""

from __future__ import annotations

import asyncio

from bot.polling_errors import Backoff
from bot.polling_runner import PollingRunner


class CountingBackoff(Backoff):
    """Short delays, and an event per failure count so tests wait on failures, not time."""

    def __init__(self) -> None:
        super().__init__(first=0.05, maximum=0.2)
        self.failures = 0
        self._changed = asyncio.Event()

    def next_delay(self) -> float:
        self.failures += 1
        self._changed.set()
        return super().next_delay()

    async def wait_failures(self, count: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while self.failures < count:
                self._changed.clear()
                await self._changed.wait()


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
