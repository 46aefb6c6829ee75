"""The polling runner in this process against the emulator: conflicts, outages, shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiogram import Dispatcher, F, Router
from aiogram.filters import Command
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import Message

from bot.exit_codes import ExitCode
from bot.runtime.observability.metrics import exposition
from bot.settings import Settings
from sandbox import Emulator
from tests.helpers.logs import LogWatcher
from tests.helpers.metrics import Scrape
from tests.helpers.polling import FAST_BACKOFF, RunningBot
from tests.helpers.processes import free_port

StartRunner = Callable[..., Awaitable[RunningBot]]
MakeSettings = Callable[..., Settings]


def texts(emulator: Emulator, token: str, chat_id: int = 100) -> list[str]:
    return [m.get("text", "") for m in emulator.bot_messages(token, chat_id)]


async def answered(emulator: Emulator, token: str, text: str, chat_id: int = 100) -> None:
    """Wait until the echo handler has repeated `text`."""
    await emulator.wait_until(
        lambda: text in texts(emulator, token, chat_id), what=f"the echo of {text!r}"
    )


def update_ids(updates: list[dict[str, Any]]) -> list[int]:
    return [u["update_id"] for u in updates]


class Gate:
    """A handler that waits for the test to open it; `/gate` messages go through it."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.open = asyncio.Event()

    def dispatcher(self) -> Dispatcher:
        router = Router()

        @router.message(Command("gate"))
        async def gate(message: Message) -> None:
            self.entered.set()
            await self.open.wait()
            await message.answer("gate passed")

        @router.message(F.text)
        async def echo(message: Message) -> None:
            await message.answer(message.text or "")

        dispatcher = Dispatcher()
        dispatcher.include_router(router)
        return dispatcher


# -- conflicts with another poller -------------------------------------------------------


def this_process_metrics() -> Scrape:
    """What /metrics would show for this process (the runner runs in the test's process)."""
    return Scrape.parse(exposition().decode())


async def foreign_poller(base_url: str, token: str, stop: asyncio.Event) -> int:
    """Another program polling the same token, as fast as it can; returns its call count."""
    calls = 0
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            async with session.get(f"{base_url}/bot{token}/getUpdates?timeout=1") as response:
                await response.read()
            calls += 1
    return calls


async def test_a_persistent_foreign_poller_makes_the_bot_exit_5_after_the_grace_period(
    emulator: Emulator,
    token: str,
    start_runner: StartRunner,
    make_settings: MakeSettings,
    logs: LogWatcher,
) -> None:
    conflicts_before = this_process_metrics().value(
        "telegram_bot_polling_conflicts_total", kind="poller"
    )
    bot = await start_runner(make_settings(POLLING_CONFLICT_GRACE="1"))
    stop = asyncio.Event()
    other = asyncio.create_task(foreign_poller(emulator.base_url, token, stop))
    loop = asyncio.get_running_loop()
    started = loop.time()
    code = await bot.exit_code(timeout=15)
    elapsed = loop.time() - started
    stop.set()
    await other

    assert code == ExitCode.CONFLICT
    assert 1 <= elapsed < 5
    warnings = logs.lines(logging.WARNING)
    diagnoses = [line for line in warnings if line.startswith("409 Conflict:")]
    assert len(diagnoses) == 1, warnings  # one diagnosis, not one line per retry
    assert "python -m bot doctor" in diagnoses[0]
    assert any("Giving up after 1 s of 409 Conflicts" in line for line in warnings)
    conflicts = this_process_metrics().value("telegram_bot_polling_conflicts_total", kind="poller")
    assert conflicts - conflicts_before >= 2  # each 409 is counted, not only the diagnosis


async def test_single_foreign_polls_inside_the_grace_period_do_not_stop_the_bot(
    emulator: Emulator,
    token: str,
    start_runner: StartRunner,
    make_settings: MakeSettings,
    logs: LogWatcher,
) -> None:
    grace = 1.0
    bot = await start_runner(make_settings(POLLING_CONFLICT_GRACE=str(grace)))
    async with aiohttp.ClientSession() as session:
        for number in (1, 2):
            # A restart elsewhere: one long poll that takes the bot's place for a moment.
            await session.get(f"{emulator.base_url}/bot{token}/getUpdates?timeout=1")
            emulator.send_text(token, f"still there? {number}")
            await answered(emulator, token, f"still there? {number}")
            # Time itself is tested here: the grace period passes with no new conflict,
            # so the second overlap starts a new streak instead of ending the first.
            await asyncio.sleep(grace + 0.2)

    emulator.send_text(token, "and now?")
    await answered(emulator, token, "and now?")
    assert not bot.task.done()
    diagnoses = [line for line in logs.lines(logging.WARNING) if line.startswith("409 Conflict:")]
    assert len(diagnoses) == 2
    assert await bot.stop() == ExitCode.OK


async def test_a_webhook_set_while_polling_stops_the_bot_with_exit_4_naming_the_url(
    emulator: Emulator, token: str, start_runner: StartRunner, logs: LogWatcher
) -> None:
    bot = await start_runner()
    emulator.set_webhook_directly(token, "https://prod.example.com/telegram/webhook")

    assert await bot.exit_code() == ExitCode.WEBHOOK_ACTIVE
    errors = logs.lines(logging.ERROR)
    assert any("https://prod.example.com/telegram/webhook" in line for line in errors), errors
    # Polling never deletes a webhook on its own.
    assert emulator.webhook(token).url == "https://prod.example.com/telegram/webhook"


# -- the Bot API unreachable or unwell -----------------------------------------------------


async def test_an_unreachable_api_logs_one_warning_then_one_restored_line(
    token: str, start_runner: StartRunner, make_settings: MakeSettings, logs: LogWatcher
) -> None:
    port = free_port()  # nothing listens here until the emulator below starts
    settings = make_settings(TELEGRAM_API_URL=f"http://127.0.0.1:{port}")
    bot = await start_runner(settings, wait_parked=False, network_backoff=FAST_BACKOFF)
    await logs.wait_for(lambda: logs.count("still unreachable") >= 2, "a third failed attempt")

    async with Emulator(port=port) as tg:
        tg.send_text(token, "hello after the outage")
        await answered(tg, token, "hello after the outage")
        assert await bot.stop() == ExitCode.OK

    warnings = [line for line in logs.lines(logging.WARNING) if "Cannot reach" in line]
    assert len(warnings) == 1, warnings
    assert f"127.0.0.1:{port}" in warnings[0]
    assert logs.count("restored after") == 1


async def test_each_outage_while_polling_gets_one_warning_and_one_restored_line(
    emulator: Emulator, token: str, start_runner: StartRunner, logs: LogWatcher
) -> None:
    await start_runner(network_backoff=FAST_BACKOFF)

    for number, fault in enumerate(({"drop": True}, {"status": 502}), start=1):
        emulator.inject_fault(token, "getUpdates", count=3, **fault)
        emulator.send_text(token, f"message {number}")  # wakes the parked poll; faults follow
        await answered(emulator, token, f"message {number}")
        await emulator.wait_until(
            lambda: emulator.bot(token).long_poll_parked, what="a long poll after the outage"
        )

    assert logs.count("Cannot reach", logging.WARNING) == 2
    assert logs.count("restored after") == 2


async def test_an_update_aiogram_cannot_read_is_skipped_confirmed_and_its_chat_goes_on(
    emulator: Emulator, token: str, start_runner: StartRunner, logs: LogWatcher
) -> None:
    bot = await start_runner()
    emulator.send_text(token, "before", chat_id=950)
    await answered(emulator, token, "before", chat_id=950)
    # Telegram sends an update in a shape aiogram cannot validate (a newer Bot API, say).
    poison = emulator.bot(token).enqueue(
        "message", {"message_id": 77, "date": 0, "chat": "not an object"}
    )
    emulator.send_text(token, "after", chat_id=950)

    await answered(emulator, token, "after", chat_id=950)
    assert await bot.stop() == ExitCode.OK

    errors = logs.lines(logging.ERROR)
    assert len(errors) == 1, errors
    assert str(poison["update_id"]) in errors[0] and "message.chat" in errors[0]
    assert logs.count("Cannot reach") == 0  # not mistaken for an outage
    assert emulator.pending_updates(token) == []  # confirmed: a restart does not meet it again


async def test_a_429_on_get_updates_is_waited_out_and_polling_goes_on(
    emulator: Emulator, token: str, start_runner: StartRunner, logs: LogWatcher
) -> None:
    await start_runner()
    emulator.inject_fault(token, "getUpdates", status=429, retry_after=1, count=1)
    emulator.send_text(token, "first")
    await answered(emulator, token, "first")
    emulator.send_text(token, "second")  # fetched only after the retry_after second
    await answered(emulator, token, "second")
    assert any("429" in line for line in logs.lines(logging.WARNING))


@pytest.mark.parametrize(
    ("status", "description", "fix"),
    [
        (404, "Not Found", "Check TELEGRAM_API_URL"),  # not a Bot API server at that URL
        (401, "Unauthorized", "Copy the current token from @BotFather"),  # a revoked token
    ],
)
async def test_a_start_up_answer_no_retry_can_fix_exits_2_naming_the_fix(
    emulator: Emulator,
    token: str,
    start_runner: StartRunner,
    logs: LogWatcher,
    status: int,
    description: str,
    fix: str,
) -> None:
    emulator.inject_fault(token, "getMe", status=status, description=description)
    bot = await start_runner(wait_parked=False)
    assert await bot.exit_code() == ExitCode.CONFIG
    assert any(fix in line for line in logs.lines(logging.ERROR)), logs.lines(logging.ERROR)


# -- concurrency and shutdown -------------------------------------------------------------


async def test_stop_waits_for_running_handlers_and_leaves_waiting_updates_for_the_next_start(
    emulator: Emulator, token: str, start_runner: StartRunner
) -> None:
    gate = Gate()
    bot = await start_runner(dispatcher=gate.dispatcher(), max_concurrent_updates=1)
    gate_update = emulator.send_command(token, "/gate")
    await gate.entered.wait()
    # With the only slot busy, these are fetched but cannot start.
    waiting = [emulator.send_text(token, "a"), emulator.send_text(token, "b")]
    await emulator.wait_until(
        lambda: any(
            call.ok and update_ids(call.result or []) == update_ids(waiting)
            for call in emulator.api_calls(token, "getUpdates")
        ),
        what="the runner to fetch a and b",
    )

    bot.runner.request_stop()
    gate.open.set()
    assert await bot.exit_code() == ExitCode.OK
    assert texts(emulator, token) == ["gate passed"]
    # The handled update is confirmed; the two that never started are delivered again.
    assert update_ids(emulator.pending_updates(token)) == update_ids(waiting)
    assert gate_update["update_id"] not in update_ids(emulator.pending_updates(token))

    await start_runner(dispatcher=Gate().dispatcher())
    await answered(emulator, token, "b")
    assert texts(emulator, token) == ["gate passed", "a", "b"]


async def test_a_handler_past_shutdown_timeout_is_abandoned_and_its_update_id_logged(
    emulator: Emulator,
    token: str,
    start_runner: StartRunner,
    make_settings: MakeSettings,
    logs: LogWatcher,
) -> None:
    gate = Gate()  # never opened
    settings = make_settings(SHUTDOWN_TIMEOUT="0.3")
    bot = await start_runner(settings, dispatcher=gate.dispatcher())
    stuck = emulator.send_command(token, "/gate")
    await gate.entered.wait()

    assert await bot.stop() == ExitCode.OK
    errors = logs.lines(logging.ERROR)
    assert any(f"update id(s) {stuck['update_id']}" in line for line in errors), errors
    assert emulator.pending_updates(token) == []  # abandoned and logged counts as received


async def test_a_second_stop_request_abandons_running_handlers_at_once(
    emulator: Emulator, token: str, start_runner: StartRunner, logs: LogWatcher
) -> None:
    gate = Gate()  # never opened; SHUTDOWN_TIMEOUT is 10 s
    bot = await start_runner(dispatcher=gate.dispatcher())
    stuck = emulator.send_command(token, "/gate")
    await gate.entered.wait()

    bot.runner.request_stop()
    bot.runner.request_stop()  # Ctrl+C pressed twice
    assert await bot.exit_code(timeout=5) == ExitCode.OK
    assert any(f"update id(s) {stuck['update_id']}" in line for line in logs.lines(logging.ERROR))


async def test_after_handlers_were_abandoned_the_offset_confirmation_is_tried_once(
    emulator: Emulator, token: str, start_runner: StartRunner, logs: LogWatcher
) -> None:
    gate = Gate()  # never opened
    bot = await start_runner(dispatcher=gate.dispatcher())
    emulator.send_command(token, "/gate")
    await gate.entered.wait()
    await emulator.wait_until(
        lambda: emulator.bot(token).long_poll_parked, what="the poll after the /gate update"
    )
    emulator.inject_fault(token, "getUpdates", drop=True, count=10)  # the network goes down

    bot.runner.request_stop()
    bot.runner.request_stop()  # Ctrl+C twice: the user wants out
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bot.exit_code(timeout=10) == ExitCode.OK

    assert loop.time() - started < 3  # three attempts with backoff took up to 16.5 s
    confirmations = [c for c in emulator.api_calls(token, "getUpdates") if c.via == "fault"]
    assert len(confirmations) == 1
    assert logs.count("Could not confirm the updates handled before", logging.WARNING) == 1


async def test_other_chats_are_handled_while_one_chats_handler_runs(
    emulator: Emulator, token: str, start_runner: StartRunner
) -> None:
    gate = Gate()
    await start_runner(dispatcher=gate.dispatcher())
    emulator.send_command(token, "/gate")
    await gate.entered.wait()
    emulator.send_text(token, "not blocked by the slow one", chat_id=200)
    await answered(emulator, token, "not blocked by the slow one", chat_id=200)
    gate.open.set()
    await emulator.wait_bot_messages(token, 100, 1)


async def test_one_chats_updates_are_handled_in_order_one_at_a_time(
    emulator: Emulator, token: str, start_runner: StartRunner
) -> None:
    gate = Gate()
    await start_runner(dispatcher=gate.dispatcher())
    emulator.send_command(token, "/gate")
    await gate.entered.wait()
    emulator.send_text(token, "after the gate")
    emulator.send_text(token, "another chat", chat_id=200)
    await answered(emulator, token, "another chat", chat_id=200)  # fetched past both
    assert texts(emulator, token, 100) == []  # waits behind the running handler
    gate.open.set()
    await answered(emulator, token, "after the gate")
    assert texts(emulator, token, 100) == ["gate passed", "after the gate"]


async def test_startup_and_shutdown_hooks_run_and_the_fsm_storage_is_closed(
    emulator: Emulator, token: str, start_runner: StartRunner
) -> None:
    events: list[str] = []

    class Storage(MemoryStorage):
        async def close(self) -> None:
            events.append("storage closed")

    dispatcher = Dispatcher(storage=Storage())
    dispatcher.startup.register(lambda: events.append("startup"))
    dispatcher.shutdown.register(lambda: events.append("shutdown"))
    bot = await start_runner(dispatcher=dispatcher)

    assert events == ["startup"]
    assert await bot.stop() == ExitCode.OK
    assert events[0] == "startup"
    assert sorted(events[1:]) == ["shutdown", "storage closed"]


async def test_polling_asks_only_for_the_update_types_the_handlers_use(
    emulator: Emulator, token: str, start_runner: StartRunner
) -> None:
    await start_runner()
    assert sorted(emulator.bot(token).allowed_updates or []) == ["callback_query", "message"]
