"""Start-up, overload and shutdown of the webhook app: nothing answered 2xx is left unhandled."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from bot.runtime.updates.dedup import Claim
from sandbox import Emulator
from tests.helpers.webhook import Gate, StartApp


async def test_draining_answers_503_and_readyz_503_while_in_flight_updates_finish(
    start_app: StartApp, emulator: Emulator, token: str
) -> None:
    gate = Gate()
    running = await start_app(dispatcher=gate.dispatcher())
    in_flight = asyncio.create_task(running.post(emulator.send_text(token, "first", chat_id=601)))
    await gate.started.wait()

    shutdown = asyncio.create_task(running.app.shutdown())  # what SIGTERM / a reload runs
    await _until(lambda: running.handler.draining)
    readyz = await running.get("/readyz")
    refused = await running.post(emulator.send_text(token, "second", chat_id=602))
    healthz = await running.get("/healthz")
    assert (readyz.status, refused.status, healthz.status) == (503, 503, 200)
    assert not shutdown.done()  # still waiting for the update in flight

    gate.release()
    assert (await in_flight).status == 200
    await shutdown
    assert [m["text"] for m in emulator.bot_messages(token, 601)] == ["done first"]
    assert emulator.bot_messages(token, 602) == []  # refused, so Telegram redelivers it


async def test_bot_session_closes_only_after_in_flight_updates_finished(
    start_app: StartApp, emulator: Emulator, token: str
) -> None:
    gate = Gate()
    running = await start_app(dispatcher=gate.dispatcher())
    in_flight = asyncio.create_task(running.post(emulator.send_text(token, "late", chat_id=603)))
    await gate.started.wait()

    stopping = asyncio.create_task(running.stop())  # shutdown and cleanup, like SIGTERM
    await _until(lambda: running.handler.draining)
    gate.release()
    await stopping

    # The reply needed the bot session: it was still open when the handler finished.
    assert [m["text"] for m in emulator.bot_messages(token, 603)] == ["done late"]
    assert (await in_flight).status == 200


async def test_update_still_running_at_the_shutdown_timeout_is_abandoned_unanswered_and_logged(
    start_app: StartApp, emulator: Emulator, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    gate = Gate()  # never released
    running = await start_app(dispatcher=gate.dispatcher(), shutdown_timeout=0.2)
    update = emulator.send_text(token, "stuck", chat_id=604)
    in_flight = asyncio.create_task(running.post(update))
    await gate.started.wait()

    abandoned = await running.handler.drain(running.settings.shutdown_timeout)

    assert abandoned == [update["update_id"]]
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await in_flight  # no answer at all: Telegram redelivers it
    assert f"cancelling updates {update['update_id']}" in caplog.text
    # Its claim is released: a redelivery (to this or another process) would be handled.
    assert await running.handler.pipeline.deduplicator.claim(update["update_id"]) is Claim.NEW


async def test_past_max_in_flight_updates_get_503_and_one_log_line(
    start_app: StartApp, emulator: Emulator, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    gate = Gate()
    running = await start_app(dispatcher=gate.dispatcher(), webhook_max_in_flight=1)
    held = asyncio.create_task(running.post(emulator.send_text(token, "held", chat_id=605)))
    await gate.started.wait()
    caplog.set_level(logging.WARNING, logger="bot.webhook")

    refused = [
        (await running.post(emulator.send_text(token, f"more {i}", chat_id=606 + i))).status
        for i in range(3)
    ]

    assert refused == [503, 503, 503]
    assert caplog.text.count("503 overloaded") == 1
    gate.release()
    assert (await held).status == 200
    later = await running.post(emulator.send_text(token, "after", chat_id=610))
    assert later.status == 200


async def test_readyz_is_503_before_the_dispatcher_started(start_app: StartApp) -> None:
    running = await start_app()
    running.handler.started = False  # as between listening and the end of on_startup
    assert (await running.get("/readyz")).status == 503


async def _until(predicate: object, timeout: float = 5.0) -> None:
    # The app flips state inside this event loop: yield until it did.
    assert callable(predicate)
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0)
