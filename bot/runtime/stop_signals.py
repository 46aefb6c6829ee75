"""Ctrl+C (and SIGTERM on POSIX) as a polite stop request, the waits it ends, and the third
Ctrl+C that ends the process."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import NoReturn, TypeVar

from bot.exit_codes import ExitCode

logger = logging.getLogger(__name__)

_Handler = Callable[[int, FrameType | None], object] | int | None
T = TypeVar("T")


class StopRequested(Exception):
    """A wait was cut short because a stop was requested."""


class StopRequest:
    """A stop request, and the waits it cuts short (a parked long poll, a retry delay)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        """Request the stop; every wait below ends with StopRequested."""
        self._event.set()

    def is_set(self) -> bool:
        """True once a stop was requested."""
        return self._event.is_set()

    async def until_stopped(self, awaitable: Awaitable[T]) -> T:
        """Await `awaitable` unless a stop request comes first (then it is cancelled)."""
        if self._event.is_set():
            if inspect.iscoroutine(awaitable):
                awaitable.close()  # never awaited: no "never awaited" warning
            raise StopRequested
        work = asyncio.ensure_future(awaitable)
        stop = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not work.done():
                work.cancel()
                await asyncio.wait({work})  # let it finish cancelling (close its connection)
        if work.cancelled():
            raise StopRequested
        return work.result()

    async def sleep(self, seconds: float) -> None:
        """Sleep, or raise StopRequested as soon as a stop is requested."""
        try:
            await asyncio.wait_for(self._event.wait(), seconds)
        except TimeoutError:
            return
        raise StopRequested


def _stop_signals() -> list[signal.Signals]:
    signals = [signal.SIGINT, signal.SIGTERM]
    if sys.platform == "win32":
        signals.append(signal.SIGBREAK)  # Ctrl+Break, and what some tools send to stop a process
    return signals


class StopPresses:
    """Counts stop signals: the first two are stop requests (the runner abandons running
    handlers on the second); the third, or Ctrl+Break once a stop was requested, ends the
    process at once."""

    def __init__(self, break_signal: int | None = getattr(signal, "SIGBREAK", None)) -> None:
        self.count = 0
        self._break = break_signal

    def ends_process(self, signum: int) -> bool:
        """Count one signal; True when this one must end the process now."""
        self.count += 1
        return self.count >= 3 or (self.count > 1 and signum == self._break)


def end_process_now() -> NoReturn:
    """What the third Ctrl+C does: end at once, saying what is lost (the lock goes with the
    process: the kernel releases it)."""
    logger.error(
        "Stop requested again: ending the process now, without waiting for running handlers, "
        "shutdown hooks or the last confirmation to Telegram (exit code %d).",
        ExitCode.INTERRUPTED,
    )
    logging.shutdown()  # flush the log file before os._exit skips every clean-up
    os._exit(ExitCode.INTERRUPTED)


@contextmanager
def stop_signals(on_stop: Callable[[], None]) -> Iterator[None]:
    """Call `on_stop` in the running loop on SIGINT, SIGTERM (POSIX only: Windows ends a
    process without a signal) and SIGBREAK (Windows' Ctrl+Break); the third such signal, or
    Ctrl+Break after a stop request, ends the process at once (`end_process_now`).

    A plain signal handler, not loop.add_signal_handler: Python runs it between two bytecodes
    of the main thread, so the third Ctrl+C ends the process even while a handler blocks the
    loop. Where it cannot be installed (not the main thread), Ctrl+C stays a
    KeyboardInterrupt, which the caller handles.
    """
    loop = asyncio.get_running_loop()
    presses = StopPresses()
    previous: dict[signal.Signals, _Handler] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        if presses.ends_process(signum):
            end_process_now()
        loop.call_soon_threadsafe(on_stop)

    for sig in _stop_signals():
        try:
            previous[sig] = signal.signal(sig, handler)
        except (OSError, ValueError):  # not the main thread
            logger.debug("Cannot handle %s here; Ctrl+C stays a KeyboardInterrupt", sig.name)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
