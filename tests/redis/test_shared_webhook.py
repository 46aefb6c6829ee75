"""Webhook workers sharing one real Redis behave as one bot: each update handled once, a
conversation's updates one at a time, nothing acknowledged while Redis is down."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
import pytest
from aiogram import Dispatcher, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from pydantic import SecretStr

from bot.settings import Settings
from sandbox import Emulator
from tests.helpers.constants import SECRET
from tests.helpers.metrics import scrape
from tests.helpers.redis import KEY_PREFIX, RedisServer
from tests.helpers.webhook import Gate, StartApp


async def test_an_update_sent_to_two_workers_at_once_is_handled_once(
    start_worker: StartApp, redis_settings: Settings, emulator: Emulator, token: str
) -> None:
    gate = Gate()
    first = await start_worker(dispatcher=gate.dispatcher)
    second = await start_worker()
    update = emulator.send_text(token, "once", chat_id=701)

    running = asyncio.create_task(first.post(update))
    await gate.started.wait()
    during = await second.post(update)  # the same update at another worker, while it runs
    gate.release()
    answers = (await running, await second.post(update))

    assert during.status == 503  # not 200: the first worker may still die with it
    assert [a.status for a in answers] == [200, 200]  # handled, then known as done
    assert [m["text"] for m in emulator.bot_messages(token, 701)] == ["done once"]


class Timeline:
    """A `/work` handler that notes when each update starts and ends, and waits for the test."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.release = asyncio.Event()
        self._changed = asyncio.Event()

    async def wait_events(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.events) < count:
                self._changed.clear()
                await self._changed.wait()

    def _note(self, event: str) -> None:
        self.events.append(event)
        self._changed.set()

    def router(self) -> Router:
        router = Router()

        @router.message(Command("work"))
        async def work(message: Message, state: FSMContext) -> None:
            self._note(f"start {message.chat.id}")
            await self.release.wait()
            await state.update_data(last=message.message_id)
            self._note(f"end {message.chat.id}")

        return router

    def dispatcher(self, dispatcher: Dispatcher) -> Dispatcher:
        """`dispatcher` with the `/work` router included."""
        dispatcher.include_router(self.router())
        return dispatcher


async def test_a_conversation_runs_one_update_at_a_time_across_workers_other_chats_in_parallel(
    start_worker: StartApp, redis_settings: Settings, emulator: Emulator, token: str
) -> None:
    timeline = Timeline()
    workers = []
    for _ in range(3):
        workers.append(await start_worker(dispatcher=timeline.dispatcher))
    updates = [emulator.send_command(token, "/work", chat) for chat in (702, 702, 703)]

    posts = [asyncio.create_task(w.post(u)) for w, u in zip(workers, updates, strict=True)]
    await timeline.wait_events(2)
    # Chat 703 got in beside chat 702's first update; chat 702's second one waits its turn.
    assert sorted(timeline.events) == ["start 702", "start 703"]
    timeline.release.set()
    assert [(await post).status for post in posts] == [200, 200, 200]
    chat_702 = [event for event in timeline.events if event.endswith("702")]
    assert chat_702 == ["start 702", "end 702", "start 702", "end 702"]


async def test_fsm_keys_carry_the_prefix_and_the_bot_id_so_two_bots_share_one_redis(
    start_worker: StartApp, redis_server: RedisServer, emulator: Emulator, token: str
) -> None:
    worker = await start_worker()  # the tests' handlers: /ask keeps a state
    update = emulator.send_command(token, "/ask", chat_id=704)
    assert (await worker.post(update)).status == 200

    redis = redis_server.client()
    keys = sorted(k.decode() for k in await redis.keys("*"))
    await redis.aclose()
    bot_id = token.split(":")[0]
    assert f"{KEY_PREFIX}:{bot_id}:fsm:704:704:default:state" in keys
    assert f"{KEY_PREFIX}:{bot_id}:update:{update['update_id']}" in keys
    assert all(key.startswith(f"{KEY_PREFIX}:{bot_id}:") for key in keys), keys


async def test_while_redis_is_down_updates_get_503_are_counted_and_are_each_handled_once_after(
    start_worker: StartApp,
    redis_server: RedisServer,
    emulator: Emulator,
    token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = await start_worker()
    before = await scrape(worker.base_url + "/metrics")
    await emulator_delivers_to(emulator, token, worker.base_url + worker.settings.webhook_path)
    texts = [f"message {n}" for n in range(12)]
    for text in texts[:4]:
        emulator.send_text(token, text, chat_id=705)
    await emulator.wait_bot_messages(token, 705, 4)

    await redis_server.stop()
    for text in texts[4:8]:
        emulator.send_text(token, text, chat_id=705)
    await emulator.wait_until(
        lambda: any(d.status == 503 for d in emulator.deliveries(token)), what="a 503 answer"
    )
    assert (await worker.get("/readyz")).status == 503
    await redis_server.start()
    for text in texts[8:]:
        emulator.send_text(token, text, chat_id=705)

    await emulator.wait_bot_messages(token, 705, len(texts), timeout=30)
    await emulator.wait_until(lambda: not emulator.pending_updates(token), what="all acknowledged")
    assert sorted(m["text"] for m in emulator.bot_messages(token, 705)) == sorted(texts)
    assert (await worker.get("/readyz")).status == 200
    outage = [r.getMessage() for r in caplog.records if "is unreachable" in r.getMessage()]
    assert len([line for line in outage if "updates are not taken" in line]) == 1
    after = await scrape(worker.base_url + "/metrics")
    for name, labels, at_least in [
        ("telegram_bot_redis_errors_total", {}, 1),
        ("telegram_bot_redis_command_duration_seconds_count", {"operation": "update_claim"}, 12),
        ("telegram_bot_webhook_refusals_total", {"status": "503"}, 1),
    ]:
        assert after.value(name, **labels) - before.value(name, **labels) >= at_least, name


async def emulator_delivers_to(emulator: Emulator, token: str, url: str) -> None:
    """Set the bot's webhook in the emulator (as the deploy's registration would)."""
    emulator.set_webhook_directly(token, url, secret_token=SECRET)


async def test_the_redis_password_never_reaches_a_log_line(
    emulator: Emulator,
    token: str,
    redis_settings: Settings,
    start_worker: StartApp,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = await RedisServer(
        redis_settings.lock_dir.parent / "locked-redis", "hunter2-pw"
    ).start()
    try:
        worker = await start_worker(redis_url=SecretStr(server.url))
        await server.stop()
        caplog.set_level(logging.DEBUG)
        response = await worker.post(emulator.send_text(token, "during the outage", chat_id=706))
    finally:
        await server.stop()
    assert response.status == 503
    assert "hunter2-pw" not in caplog.text
    assert f"127.0.0.1:{server.port}" in caplog.text and ":***@" in caplog.text


async def test_an_update_abandoned_at_shutdown_leaves_no_lock_and_no_claim_behind(
    start_worker: StartApp, redis_settings: Settings, redis_server: RedisServer, emulator: Emulator,
    token: str,
) -> None:  # fmt: skip
    gate = Gate()  # never released: the handler is still running at the shutdown timeout
    worker = await start_worker(dispatcher=gate.dispatcher, shutdown_timeout=0.2)
    update = emulator.send_text(token, "stuck", chat_id=707)
    in_flight = asyncio.create_task(worker.post(update))
    await gate.started.wait()

    assert await worker.handler.drain(0.2) == [update["update_id"]]
    with contextlib.suppress(aiohttp.ClientError):
        await in_flight  # unanswered: Telegram delivers it again
    redis = redis_server.client()
    keys = [k.decode() for k in await redis.keys("*")]
    await redis.aclose()
    # Neither the claim nor the conversation's lock waits for its TTL: the retry runs at once.
    assert not [k for k in keys if k.endswith(f":update:{update['update_id']}")], keys
    assert not [k for k in keys if k.endswith(":lock")], keys
