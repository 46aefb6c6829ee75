"""Flood control's arithmetic: the budgets a message spends from, GCRA slots, the two lanes,
which methods count, and one log line per 429 episode."""

from __future__ import annotations

import logging

import pytest

from bot.runtime.outgoing.flood import Budget, FloodLimits, FloodLog, book_slot
from bot.runtime.outgoing.flood_session import counts_against_limits
from bot.settings import load_settings
from tests.helpers.logs import watching

CHAT = Budget.of("chat:1", per_second=1.0, burst=2)


def book_many(
    budgets: list[Budget], times: list[float], horizon: float | None = None
) -> list[float]:
    """The wait each booking gets when made at `times`, one after the other."""
    arrivals = [0.0] * len(budgets)
    waits = []
    for now in times:
        booking, arrivals = book_slot(arrivals, budgets, now, horizon)
        assert booking.booked
        waits.append(round(booking.wait, 6))
    return waits


def test_a_budget_lets_its_burst_through_then_one_message_per_interval() -> None:
    assert book_many([CHAT], [100.0] * 4) == [0.0, 0.0, 1.0, 2.0]


def test_an_idle_budget_fills_up_again_to_its_burst_and_no_more() -> None:
    assert book_many([CHAT], [100.0, 100.0, 110.0, 110.0, 110.0]) == [0.0, 0.0, 0.0, 0.0, 1.0]


def test_a_message_waits_for_the_fullest_of_its_budgets() -> None:
    spent_global = Budget.of("global", per_second=10.0, burst=1)
    assert book_many([spent_global, CHAT], [100.0] * 3) == [0.0, 0.1, 1.0]


def test_bulk_traffic_books_only_close_slots_and_a_reply_books_right_after_them() -> None:
    budget = Budget.of("global", per_second=10.0, burst=1)
    arrivals = [0.0]
    booked = 0
    while True:
        booking, arrivals = book_slot(arrivals, [budget], 100.0, horizon=0.3)
        if not booking.booked:
            break
        booked += 1
    assert booked == 4  # slots at +0, +0.1, +0.2, +0.3
    assert booking.wait == pytest.approx(0.1)  # ask again when the next slot is close
    reply, _ = book_slot(arrivals, [budget], 100.0, horizon=None)
    assert reply.booked and reply.wait == pytest.approx(0.4)


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
