"""What each Ctrl+C means: a stop request, then abandoning the handlers, then the end."""

from __future__ import annotations

import signal

from bot.runtime.stop_signals import StopPresses

SIGBREAK = 21  # Windows' number for Ctrl+Break (the signal exists only there)


def test_the_third_stop_signal_ends_the_process_and_the_first_two_do_not() -> None:
    presses = StopPresses(break_signal=SIGBREAK)
    assert [presses.ends_process(signal.SIGINT) for _ in range(3)] == [False, False, True]


def test_sigterm_counts_like_ctrl_c() -> None:
    presses = StopPresses(break_signal=SIGBREAK)
    signals = [signal.SIGTERM, signal.SIGINT, signal.SIGTERM]
    assert [presses.ends_process(s) for s in signals] == [False, False, True]


def test_ctrl_break_is_a_stop_request_first_and_ends_the_process_once_a_stop_was_asked() -> None:
    first = StopPresses(break_signal=SIGBREAK)
    assert first.ends_process(SIGBREAK) is False  # on its own: a polite stop, like Ctrl+C

    after_ctrl_c = StopPresses(break_signal=SIGBREAK)
    assert after_ctrl_c.ends_process(signal.SIGINT) is False
    assert after_ctrl_c.ends_process(SIGBREAK) is True
