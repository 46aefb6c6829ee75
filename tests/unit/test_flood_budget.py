"""Flood control's arithmetic: the budgets a message spends from, GCRA slots, the two lanes,
which methods count, and one log line per 429 episode."""

from __future__ import annotations

import logging

import pytest

from bot.runtime.outgoing.flood import CHAT_HORIZON, Budget, FloodLimits, FloodLog, book_slot
from bot.runtime.outgoing.flood_session import counts_against_limits
from bot.settings import load_settings
from tests.helpers.logs import watching

# Exact windows (no margin), so that the slots are round numbers.
CHAT = Budget("chat:1", count=2, window=2.0)  # 1 a second, 2 at most in any 2 s
GLOBAL = Budget("global", count=10, window=1.0)


def book_many(
    budgets: list[Budget],
    times: list[float],
    horizon: float | None = None,
    logs: list[list[float]] | None = None,
) -> list[float]:
    """The wait each booking gets when made at `times`, one after the other."""
    logs = logs if logs is not None else [[] for _ in budgets]
    waits = []
    for now in times:
        booking, logs[:] = book_slot(logs, budgets, now, horizon)
        assert booking.booked
        waits.append(round(booking.wait, 6))
    return waits


def most_in_any_window(slots: list[float], window: float) -> int:
    """The largest number of `slots` within any half-open span of `window` seconds."""
    slots = sorted(slots)
    return max(sum(start <= s < start + window for s in slots) for start in slots)


def test_a_budget_lets_its_burst_through_then_the_next_burst_a_window_later() -> None:
    assert book_many([CHAT], [100.0] * 5) == [0.0, 0.0, 2.0, 2.0, 4.0]


def test_an_idle_budget_fills_up_again_to_its_burst_and_no_more() -> None:
    assert book_many([CHAT], [100.0, 100.0, 110.0, 110.0, 110.0]) == [0.0, 0.0, 0.0, 0.0, 2.0]


def test_a_message_waits_for_the_fullest_of_its_budgets() -> None:
    spent_global = Budget("global", count=1, window=0.1)
    chat = Budget("chat:1", count=2, window=0.4)
    assert book_many([spent_global, chat], [100.0] * 3) == [0.0, 0.1, 0.4]


def test_a_chat_whose_own_slot_is_far_books_nothing_and_asks_again_later() -> None:
    # Its queued messages must not reserve the global budget ahead of other chats.
    logs: list[list[float]] = [[], [100.0, 100.0]]  # the chat's burst is spent until 102.0
    booking, updated = book_slot(logs, [GLOBAL, CHAT], 100.0, None)
    assert not booking.booked and booking.wait == pytest.approx(2.0 - CHAT_HORIZON)
    assert updated == logs
    other, _ = book_slot([[], []], [GLOBAL, Budget("chat:2", 1, 1.0)], 100.0, None)
    assert other.booked and other.wait == 0.0


def test_no_window_ever_holds_more_than_the_budget_however_the_bookings_arrive() -> None:
    # A token bucket of 10 a second with a burst of 10 would let 20 through in one second.
    times = [100.0] * 25 + [100.5] * 10 + [101.7] * 30
    waits = book_many([GLOBAL], times)
    slots = [now + wait for now, wait in zip(times, waits, strict=True)]
    assert most_in_any_window(slots, GLOBAL.window) == GLOBAL.count
    assert max(slots) == pytest.approx(106.0)  # 65 at 10 in any second: nothing wasted


def test_the_default_budgets_space_messages_evenly_just_under_telegrams_limits() -> None:
    limits = FloodLimits(load_settings(overrides={"BOT_TOKEN": "1:x"}, environment=False))
    everyone, chat = limits.budgets(42)
    assert (everyone.count, chat.count) == (1, 1)  # evenly spaced: no burst to bunch
    assert 1 / 30 < everyone.window <= 1.03 / 30  # at 0.97 of the limit or better
    assert 1.0 < chat.window <= 1.03


def test_bulk_traffic_books_only_close_slots_and_a_reply_books_right_after_them() -> None:
    budget = Budget("global", count=1, window=0.1)
    logs: list[list[float]] = [[]]
    booked = 0
    while True:
        booking, updated = book_slot(logs, [budget], 100.0, horizon=0.3)
        if not booking.booked:
            break
        logs = updated
        booked += 1
    assert booked == 4  # slots at +0, +0.1, +0.2, +0.3
    assert booking.wait == pytest.approx(0.1)  # ask again when the next slot is close
    reply, _ = book_slot(logs, [budget], 100.0, horizon=None)
    assert reply.booked and reply.wait == pytest.approx(0.4)


def test_a_429_hold_goes_first_after_the_wait_and_the_budget_resumes_without_a_burst() -> None:
    logs: list[list[float]] = [[100.0] * 10]  # a full burst went at 100.0, then a 429
    held, logs = book_slot(logs, [GLOBAL], 100.1, None, not_before=101.1)
    assert held.wait == pytest.approx(1.0)  # the retry goes first, after retry_after
    later = book_many([GLOBAL], [100.2] * 3, logs=logs)
    # Booked after the hold: behind it, one every 0.1 s, not a fresh burst of 10.
    assert later == pytest.approx([1.0, 1.1, 1.2])


@pytest.mark.parametrize(
    ("chat_id", "names"),
    [
        (42, ["global", "chat:42"]),
        (-100123, ["global", "group:-100123"]),
        ("@news", ["global", "group:@news"]),
        (None, ["global"]),
    ],
)
def test_private_chats_groups_and_chatless_messages_spend_from_their_budgets(
    chat_id: int | str | None, names: list[str]
) -> None:
    limits = FloodLimits(load_settings(overrides={"BOT_TOKEN": "1:x"}, environment=False))
    assert [b.name for b in limits.budgets(chat_id)] == names


@pytest.mark.parametrize(
    ("method", "counted"),
    [
        ("sendMessage", True),
        ("sendPhoto", True),
        ("copyMessage", True),
        ("editMessageText", True),
        ("forwardMessages", True),
        ("sendChatAction", False),
        ("getMe", False),
        ("answerCallbackQuery", False),
        ("getUpdates", False),
        ("deleteMessage", False),
    ],
)
def test_only_methods_that_put_a_message_in_a_chat_count(method: str, counted: bool) -> None:
    assert counts_against_limits(method) is counted


async def test_many_429s_make_one_warning_and_one_line_when_all_are_through() -> None:
    log = FloodLog()
    with watching("bot.runtime.outgoing.flood") as watcher:
        for n in range(50):
            log.retrying(f"sendMessage to chat {n}", 1.0, first=True)
        for n in range(50):
            log.settled(f"sendMessage to chat {n}", delivered=True)
    assert len(watcher.lines(logging.WARNING)) == 1
    assert watcher.count("the 429 episode is over") == 1
    assert watcher.count("50 retries, 0 message(s) given up") == 1


def test_the_bulk_horizon_counts_from_when_the_chat_itself_may_send() -> None:
    chat = Budget("chat:1", count=1, window=0.45)
    logs: list[list[float]] = [[], [100.0]]  # the chat sent at 100.0; the global budget is idle
    booking, _ = book_slot(logs, [GLOBAL, chat], 100.0, horizon=0.3)
    assert booking.booked and booking.wait == pytest.approx(0.45)
