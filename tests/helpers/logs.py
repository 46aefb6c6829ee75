"""Watching the bot's log lines as they are written, so a test waits on a line, not on time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class LogWatcher(logging.Handler):
    """Collects the records of one logger (and its children) and wakes waiting tests."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._changed = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self._loop.call_soon_threadsafe(self._changed.set)

    def lines(self, level: int = logging.INFO) -> list[str]:
        """The messages at or above `level`, oldest first."""
        return [r.getMessage() for r in self.records if r.levelno >= level]

    def count(self, needle: str, level: int = logging.DEBUG) -> int:
        """How many messages at or above `level` contain `needle`."""
        return sum(needle in line for line in self.lines(level))

    async def wait_for(
        self, predicate: Callable[[], bool], what: str, timeout: float = 10.0
    ) -> None:
        """Until `predicate()` holds; re-checked on every new record."""
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"no {what} in the log:\n" + "\n".join(self.lines(0))) from None


@contextmanager
def watching(logger_name: str = "bot") -> Iterator[LogWatcher]:
    """A LogWatcher on `logger_name` at DEBUG for the duration of the block."""
    logger = logging.getLogger(logger_name)
    watcher = LogWatcher()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(watcher)
    try:
        yield watcher
    finally:
        logger.removeHandler(watcher)
        logger.setLevel(previous)
