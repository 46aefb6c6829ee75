"""Ctrl+C and SIGTERM as a polite stop request (POSIX and Windows), and the waits it ends."""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TypeVar

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


@contextmanager
def stop_signals(on_stop: Callable[[], None]) -> Iterator[None]:
    """Call `on_stop` in the running loop on SIGINT/SIGTERM (SIGBREAK on Windows).

    POSIX uses loop.add_signal_handler; Windows has no such thing, so a plain signal handler
    hands the call over to the loop. Where neither works (not the main thread), Ctrl+C stays
    a KeyboardInterrupt, which the caller handles.
    """
    loop = asyncio.get_running_loop()
    in_loop: list[signal.Signals] = []
    previous: dict[signal.Signals, _Handler] = {}

    def plain_handler(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(on_stop)

    for sig in _stop_signals():
        try:
            loop.add_signal_handler(sig, on_stop)
            in_loop.append(sig)
            continue
        except NotImplementedError:  # Windows
            pass
        except (RuntimeError, ValueError):  # not the main thread
            logger.debug("Cannot handle %s here; Ctrl+C stays a KeyboardInterrupt", sig.name)
            continue
        try:
            previous[sig] = signal.signal(sig, plain_handler)
        except (OSError, ValueError):
            logger.debug("Cannot handle %s here; Ctrl+C stays a KeyboardInterrupt", sig.name)
    try:
        yield
    finally:
        for sig in in_loop:
            loop.remove_signal_handler(sig)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
