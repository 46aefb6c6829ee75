"""SIGTERM and HUP to the gunicorn master while updates keep coming: none lost, none twice.

A steady stream runs through the reload (the new workers fork from a master that preloaded
aiogram); batches come at the worst moments: while a reload swaps the workers,
while the master drains after SIGTERM, while nothing listens at all, and after the restart.
A slow update is in flight at each signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from tests.helpers.stack import WORKER_READY, WORKERS, Stack

BATCH = 10
CHATS = 5
STEADY_INTERVAL = 0.1
STEADY_CHATS = 5000  # the first chat of the steady stream


def test_text(number: int) -> str:
    return f"stream {number}"


test_text.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


class Stream:
    """Updates with a unique text each, which the echo handler sends back: batches over a few
    chats, and a steady stream with a chat per update (so the per-chat flood limit of about
    one message a second never paces it)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.sent: dict[int, int] = {}  # update_id -> number
        self.chats: dict[int, int] = {}  # number -> chat

    def send_batch(self) -> list[int]:
        return [self.send_one(900 + len(self.sent) % CHATS) for _ in range(BATCH)]

    def send_one(self, chat: int) -> int:
        number = len(self.sent)
        update = self.stack.tg.send_text(self.stack.token, test_text(number), chat_id=chat)
        self.sent[update["update_id"]] = number
        self.chats[number] = chat
        return int(update["update_id"])

    async def send_steadily(self) -> None:
        """One update every STEADY_INTERVAL seconds, each in a chat of its own, until cancelled."""
        while True:
            self.send_one(STEADY_CHATS + len(self.sent))
            await asyncio.sleep(STEADY_INTERVAL)  # paces the load; the test waits on events

    def replies(self, number: int) -> int:
        messages = self.stack.tg.bot_messages(self.stack.token, self.chats[number])
        return [m["text"] for m in messages].count(test_text(number))

    def all_replied(self) -> bool:
        return all(self.replies(number) >= 1 for number in self.sent.values())

    async def wait_all_replied(self) -> None:
        await self.stack.tg.wait_until(self.all_replied, timeout=60, what="every reply")

    async def wait_replied(self, update_id: int) -> None:
        number = self.sent[update_id]
        await self.stack.tg.wait_until(
            lambda: self.replies(number) >= 1, timeout=60, what=f"the reply to {number}"
        )


async def test_reload_and_stop_during_a_stream_lose_no_update_and_handle_each_once(
    stack: Stack,
) -> None:
    tg, token = stack.tg, stack.token
    stream = Stream(stack)
    master = await stack.start_gunicorn()
    stream.send_batch()
    await stream.wait_all_replied()

    # Reload (a deploy): new workers boot while the old ones finish what they hold.
    slow_at_reload = tg.send_command(token, "/slow", chat_id=990)
    await master.wait_for_lines("Slow handler started", 1)
    master.send_signal(signal.SIGHUP)
    steady = asyncio.create_task(stream.send_steadily())  # before, during and after the swap
    try:
        stream.send_batch()
        await master.wait_for_lines(WORKER_READY, 2 * WORKERS, timeout=90)
        # The new workers answer while the stream goes on.
        await stream.wait_replied(stream.send_one(STEADY_CHATS - 1))
    finally:
        steady.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await steady
    await stream.wait_all_replied()

    # Stop (systemctl stop): the workers drain; then nothing listens until the restart.
    slow_at_stop = tg.send_command(token, "/slow", chat_id=991)
    await master.wait_for_lines("Slow handler started", 2)
    master.send_signal(signal.SIGTERM)
    while_stopping = stream.send_batch()
    assert await master.wait() == 0, master.output
    while_down = set(while_stopping + stream.send_batch())
    # A chat's updates go one at a time: its next one waits behind the one being refused.
    await tg.wait_until(
        lambda: any(d.update_id in while_down and d.status != 200 for d in tg.deliveries(token)),
        what="a delivery refused while gunicorn is down",
    )
    restarted = await stack.start_gunicorn()
    stream.send_batch()
    await stream.wait_all_replied()
    await tg.wait_until(lambda: tg.pending_updates(token) == [], what="every update confirmed")

    # Every update was handled exactly once: none lost, none twice.
    assert {number: stream.replies(number) for number in stream.sent.values()} == {
        number: 1 for number in stream.sent.values()
    }
    for delivery in tg.deliveries(token):
        if delivery.acknowledged and delivery.update_id in stream.sent:
            assert stream.replies(stream.sent[delivery.update_id]) == 1
    # Refused while down, then redelivered: nothing acknowledged was dropped.
    refused = {d.update_id for d in tg.deliveries(token) if not d.acknowledged}
    assert refused & while_down
    # The updates in flight at each signal were finished by the stopping worker, then answered.
    for slow in (slow_at_reload, slow_at_stop):
        chat = slow["message"]["chat"]["id"]
        expected = [f"Slow reply for update {slow['update_id']}"]
        assert [m["text"] for m in tg.bot_messages(token, chat)] == expected
        answers = [d.status for d in tg.deliveries(token) if d.update_id == slow["update_id"]]
        assert answers == [200]
    # The restart found the webhook as it was: registered exactly once in all.
    assert stack.set_webhook_ok_calls() == 1
    assert "unchanged" in restarted.output
