"""`python run.py` as a real process: what a developer sees at the terminal.

Each process costs seconds of aiogram import, so these tests keep to what needs a real
process (exit codes, signals, the lock) and check several things per process.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.exit_codes import ExitCode
from bot.runtime.single_poller.lock import InstanceLock, read_lock_holder
from bot.settings import Settings
from sandbox import Emulator
from tests.helpers.polling import RunningBot
from tests.helpers.processes import ROOT, BotProcess

StartBot = Callable[..., Awaitable[BotProcess]]

# Windows has no SIGINT/SIGTERM to send to another process (Ctrl+C reaches a console, not a
# pid): the tests that stop the bot by a signal run on POSIX only.
posix_signals = pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals")


def texts(emulator: Emulator, token: str, chat_id: int = 100) -> list[str]:
    return [m.get("text", "") for m in emulator.bot_messages(token, chat_id)]


async def reply(emulator: Emulator, token: str, text: str, chat_id: int = 100) -> None:
    """Wait until the bot has sent `text` to the chat."""
    await emulator.wait_until(lambda: text in texts(emulator, token, chat_id), what=repr(text))


@posix_signals
async def test_run_py_answers_text_a_button_and_a_conversation_and_never_shows_the_token(
    emulator: Emulator, token: str, polling_env: dict[str, str], start_bot: StartBot
) -> None:
    bot = await start_bot(polling_env)
    line = await bot.wait_for_line("is polling")
    assert bot.proc is not None
    for part in ("@sandbox_", "mode=polling", "env file=", f"pid={bot.proc.pid}", "host="):
        assert part in line

    emulator.send_text(token, "hello there")
    await reply(emulator, token, "hello there")

    emulator.send_command(token, "/pick")
    await reply(emulator, token, "Pick a colour:")
    keyboard = emulator.bot_messages(token, 100)[-1]
    emulator.press_button(token, keyboard, "pick:green")
    await reply(emulator, token, "You picked: green")  # the keyboard's message, edited
    assert len(emulator.bot_messages(token, 100)) == 2
    answers = await emulator.wait_api_calls(token, "answerCallbackQuery")
    assert answers[0].params.get("text") == "You picked green"

    emulator.send_command(token, "/ask")
    await reply(emulator, token, "What is your name?")
    emulator.send_text(token, "Ada")
    await reply(emulator, token, "How old are you?")
    emulator.send_text(token, "36")
    await reply(emulator, token, "Nice to meet you, Ada, aged 36.")

    bot.send_signal(signal.SIGINT)  # Ctrl+C
    assert await bot.wait() == ExitCode.OK
    assert "stopped" in bot.output
    assert token.split(":", 1)[1] not in bot.output


async def test_second_instance_exits_3_naming_the_first_which_keeps_answering(
    emulator: Emulator, token: str, polling_env: dict[str, str], start_bot: StartBot
) -> None:
    first = await start_bot(polling_env)
    await first.wait_for_line("is polling")
    assert first.proc is not None

    loop = asyncio.get_running_loop()
    started = loop.time()
    second = await start_bot(polling_env)
    code = await second.wait(timeout=10)

    assert code == ExitCode.LOCKED
    assert loop.time() - started < 3  # refused before the slow aiogram import
    assert f"pid {first.proc.pid} on host {socket.gethostname()}, since " in second.output
    assert "Ctrl+C" in second.output
    emulator.send_text(token, "still answering?")
    await reply(emulator, token, "still answering?")


async def test_a_refused_second_instance_leaves_the_log_file_alone(
    token: str,
    polling_env: dict[str, str],
    start_bot: StartBot,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    # Held open by a refused instance, the first one's LOG_FILE could not roll over on Windows.
    log_file = tmp_path / "logs" / "bot.log"
    settings = make_settings()
    with InstanceLock(settings.lock_dir, settings.bot_id):
        refused = await start_bot({**polling_env, "LOG_FILE": str(log_file)})
        assert await refused.wait(timeout=10) == ExitCode.LOCKED
    assert "Another instance is already polling" in refused.output
    assert not log_file.exists()


HOLDER = """
import sys, time
from pathlib import Path
from bot.runtime.single_poller.lock import InstanceLock
lock = InstanceLock(Path(sys.argv[1]), int(sys.argv[2]))
lock.acquire()
print("locked", flush=True)
time.sleep(600)
"""


async def test_after_kill_9_of_the_lock_holder_a_new_bot_starts_at_once(
    emulator: Emulator,
    token: str,
    polling_env: dict[str, str],
    start_bot: StartBot,
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLDER,
        str(settings.lock_dir),
        str(settings.bot_id),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdout is not None
    assert await holder.stdout.readline() == b"locked\n"
    found = read_lock_holder(settings.lock_dir, settings.bot_id)
    assert found is not None and found.pid == holder.pid

    holder.kill()  # SIGKILL (TerminateProcess on Windows): no clean-up code runs
    await holder.wait()
    if sys.platform != "win32":  # Windows frees a killed process's lock a moment later
        assert read_lock_holder(settings.lock_dir, settings.bot_id) is None

    bot = await start_bot(polling_env)
    await bot.wait_for_line("is polling")
    emulator.send_text(token, "after the crash")
    await reply(emulator, token, "after the crash")


async def test_active_webhook_exits_4_and_takeover_deletes_it_keeping_pending_updates(
    emulator: Emulator,
    token: str,
    polling_env: dict[str, str],
    start_bot: StartBot,
    start_runner: Callable[..., Awaitable[RunningBot]],
) -> None:
    url = "https://prod.example.com/telegram/webhook"
    emulator.set_webhook_directly(token, url)
    emulator.pause_delivery(token)  # production is down: updates wait
    emulator.send_text(token, "sent while production was down")

    refused = await start_bot(polling_env)
    assert await refused.wait() == ExitCode.WEBHOOK_ACTIVE
    for part in (url, "production bot", "@BotFather", "python run.py --takeover"):
        assert part in refused.output
    assert emulator.webhook(token).url == url  # polling never deletes a webhook by itself

    # What `python run.py --takeover` runs (in this process, to save an aiogram start-up).
    await start_runner(takeover=True)
    assert not emulator.webhook(token).url
    await reply(emulator, token, "sent while production was down")
    deletes = emulator.api_calls(token, "deleteWebhook")
    assert [call.params.get("drop_pending_updates") for call in deletes] == [False]


@posix_signals
async def test_sigterm_lets_a_slow_handler_reply_then_exits_0_and_a_restart_skips_that_update(
    emulator: Emulator,
    token: str,
    polling_env: dict[str, str],
    start_bot: StartBot,
    make_settings: Callable[..., Settings],
    start_runner: Callable[..., Awaitable[RunningBot]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slow_handlers = "tests.fixtures.slow_handlers"
    monkeypatch.setenv("SLOW_HANDLER_SECONDS", "1")  # inherited by the bot process
    bot = await start_bot({**polling_env, "HANDLERS_MODULE": slow_handlers})
    await bot.wait_for_line("is polling")
    update_id = emulator.send_command(token, "/slow")["update_id"]
    await bot.wait_for_line(f"Slow handler started for update {update_id}")

    bot.send_signal(signal.SIGTERM)
    assert await bot.wait() == ExitCode.OK
    assert texts(emulator, token) == [f"Slow reply for update {update_id}"]
    assert "Waiting for 1 running handler(s) to finish" in bot.output
    assert bot.lines[-1].endswith("stopped (exit code 0).")

    # A restart with the same handlers: the /slow update is not delivered again.
    restarted = await start_runner(make_settings(HANDLERS_MODULE=slow_handlers))
    emulator.send_text(token, "ping")
    await reply(emulator, token, "ping")
    assert await restarted.stop() == ExitCode.OK
    assert texts(emulator, token) == [f"Slow reply for update {update_id}", "ping"]


@posix_signals
async def test_a_third_ctrl_c_ends_a_bot_stuck_in_shutdown_at_once_and_frees_the_lock(
    emulator: Emulator,
    token: str,
    polling_env: dict[str, str],
    start_bot: StartBot,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("SLOW_HANDLER_GATE", "SLOW_SHUTDOWN_GATE"):
        gate = tmp_path / name
        gate.touch()  # never removed: the handler and the shutdown hook never end
        monkeypatch.setenv(name, str(gate))  # inherited by the bot process
    bot = await start_bot({**polling_env, "HANDLERS_MODULE": "tests.fixtures.slow_handlers"})
    await bot.wait_for_line("is polling")
    update_id = emulator.send_command(token, "/slow")["update_id"]
    await bot.wait_for_line(f"Slow handler started for update {update_id}")

    bot.send_signal(signal.SIGINT)
    await bot.wait_for_line("Press Ctrl+C again to abandon them")
    bot.send_signal(signal.SIGINT)
    await bot.wait_for_line("Press Ctrl+C once more to end the process at once")
    await bot.wait_for_line("Slow shutdown hook started")
    bot.send_signal(signal.SIGINT)

    assert await bot.wait(timeout=10) == ExitCode.INTERRUPTED
    assert "ending the process now" in bot.output
    settings = make_settings()
    assert read_lock_holder(settings.lock_dir, settings.bot_id) is None
