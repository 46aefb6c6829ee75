"""Ctrl+C and SIGTERM as a polite stop request, on POSIX and on Windows."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

logger = logging.getLogger(__name__)

_Handler = Callable[[int, FrameType | None], object] | int | None


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
