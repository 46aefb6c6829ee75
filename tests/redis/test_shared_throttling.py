"""Incoming throttling on a shared Redis: the limit is one user's across every worker."""

from __future__ import annotations

from bot.runtime.observability.metrics import exposition
from bot.runtime.updates.throttle import DEFAULT_NOTICE
from sandbox import Emulator
from tests.helpers.metrics import Scrape
from tests.helpers.webhook import StartApp

LIMIT = 5
FLOODER = 777
SENT = 30


def throttled_count() -> float:
    scrape = Scrape.parse(exposition().decode())
    return scrape.value("telegram_bot_updates_total", type="message", outcome="throttled")


async def test_one_users_limit_holds_across_two_workers_sharing_redis(
    start_worker: StartApp, emulator: Emulator, token: str
) -> None:
    workers = [await start_worker(throttle_limit=LIMIT, throttle_window=30.0) for _ in range(2)]
    before = throttled_count()
    for n in range(SENT):  # each worker gets every other message: 15 each, 3 times the limit
        update = emulator.send_text(token, f"spam {n}", chat_id=FLOODER)
        assert (await workers[n % 2].post(update)).status == 200
    await emulator.wait_until(
        lambda: throttled_count() - before >= SENT - LIMIT, what="the excess dropped"
    )
    await emulator.wait_until(
        lambda: len(emulator.bot_messages(token, FLOODER)) >= LIMIT + 1, what="the replies"
    )

    texts = [m["text"] for m in emulator.bot_messages(token, FLOODER)]
    assert texts.count(DEFAULT_NOTICE) == 1  # one notice, though both workers dropped some
    assert sorted(t for t in texts if t != DEFAULT_NOTICE) == sorted(
        f"spam {n}" for n in range(LIMIT)
    )
    assert throttled_count() - before == SENT - LIMIT
