"""`python run.py --reload` against the emulator, in a copy of the project: a saved handler is
answered by the new code, restarts never run two pollers or lose or repeat a message, a
broken save waits for its fix, and neither Ctrl+C nor a killed reloader leaves a bot behind."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.exit_codes import ExitCode
from bot.runtime.single_poller.lock import read_lock_holder
from sandbox import Emulator
from tests.helpers.processes import Program
from tests.helpers.project_copy import run_py
from tests.helpers.reload import (
    EXITED,
    HANDLERS_FILE,
    POLLING,
    RESTARTED,
    copy_project,
    overlapping_long_polls,
    processes_in,
    run_in_copy,
    set_echo_prefix,
)

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals"),
    # Each restart imports aiogram anew (seconds): generous on a loaded machine.
    pytest.mark.timeout(300),
]
WAIT = 120.0  # seconds any one step may take on a loaded machine
RESTARTS = 3


@pytest.fixture
async def programs() -> AsyncIterator[list[Program]]:
    """Programs a test starts; every one is stopped (and its group killed) afterwards."""
    started: list[Program] = []
    yield started
    for program in started:
        await program.stop(signal.SIGINT)


async def start_reloader(
    directory: Path, env: dict[str, str], programs: list[Program]
) -> tuple[Path, Path, Program]:
    """`python run.py --reload` in a copy of the project, once its bot polls (stopped at the
    end by `programs`); returns (project, env file, supervisor)."""
    project, env_file = copy_project(directory / "project", env)
    supervisor = await run_in_copy(project, "--reload", "--env-file", str(env_file)).start()
    programs.append(supervisor)
    await supervisor.wait_for_lines(POLLING, timeout=WAIT)
    return project, env_file, supervisor


# copier: if sandbox
async def test_sandbox_reload_keeps_the_chat_page_across_restarts(
    tmp_path: Path, polling_env: dict[str, str], programs: list[Program]
) -> None:
    project, env_file = copy_project(tmp_path / "project", polling_env, "sandbox")
    supervisor = await run_in_copy(
        project, "--sandbox", "--reload", "--env-file", str(env_file)
    ).start()
    programs.append(supervisor)
    import aiohttp

    from tests.helpers.sandbox_run import PageClient, page_address

    page = await page_address(supervisor)
    await supervisor.wait_for_lines(POLLING, timeout=WAIT)
    async with aiohttp.ClientSession() as http:
        chat = PageClient(http, page)
        assert await chat.say("before") == "before"
        set_echo_prefix(project, "new: ")
        await supervisor.wait_for_lines(RESTARTED, timeout=WAIT)
        assert await chat.say("after") == "new: after"  # the same page, the new code

    supervisor.send_signal(signal.SIGINT)  # Ctrl+C
    assert await supervisor.wait(timeout=WAIT) == ExitCode.OK, supervisor.output
    assert processes_in(project) == []


# copier: endif
async def test_saved_handler_answers_after_restarts_with_one_poller_and_no_lost_message(
    tmp_path: Path,
    emulator: Emulator,
    token: str,
    polling_env: dict[str, str],
    programs: list[Program],
) -> None:
    project, _, supervisor = await start_reloader(tmp_path, polling_env, programs)

    sent: list[int] = []  # one chat per message, so that flood limits never pace the replies

    async def send_steadily() -> None:
        while True:
            chat = 5000 + len(sent)
            emulator.send_text(token, f"steady {chat}", chat_id=chat)
            sent.append(chat)
            await asyncio.sleep(0.05)  # paces the load (~20/s, under the flood limits)

    sender = asyncio.create_task(send_steadily())
    try:
        for version in range(1, RESTARTS + 1):
            set_echo_prefix(project, f"v{version}: ")
            await supervisor.wait_for_lines(RESTARTED, count=version, timeout=WAIT)
            # The next message gets the new text.
            emulator.send_text(token, f"after v{version}", chat_id=version)
            replies = await emulator.wait_bot_messages(token, version, 1, timeout=WAIT)
            assert [m["text"] for m in replies] == [f"v{version}: after v{version}"]
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender

    def answered() -> int:
        return sum(bool(emulator.bot_messages(token, chat)) for chat in sent)

    await emulator.wait_until(lambda: answered() == len(sent), WAIT, "a reply to every message")
    # Each message answered exactly once: none lost, none handled twice across a restart.
    counts = {chat: len(emulator.bot_messages(token, chat)) for chat in sent}
    assert set(counts.values()) == {1}, counts
    assert len(sent) > 3 * RESTARTS  # messages were arriving during every restart

    polls = emulator.api_calls(token, "getUpdates")
    assert overlapping_long_polls(polls) == []
    assert [c for c in polls if c.error_code == 409] == []
    restarts = [line for line in supervisor.lines if RESTARTED in line]
    assert len(restarts) == RESTARTS
    assert all(f"{HANDLERS_FILE} changed;" in line for line in restarts)

    assert token.split(":")[1] not in supervisor.output  # the token is masked

    # A reloader killed outright (an IDE's stop button) takes its bot along: none polls on.
    supervisor.send_signal(signal.SIGKILL)
    await supervisor.wait(timeout=WAIT)  # the bot shares its output: this waits for both
    assert f"The reloader (pid {supervisor.pid}) has exited" in supervisor.output
    assert processes_in(project) == []
    assert read_lock_holder(Path(polling_env["LOCK_DIR"]), int(token.split(":")[0])) is None


async def test_broken_save_waits_for_its_fix_and_no_other_poller_may_start_meanwhile(
    tmp_path: Path,
    emulator: Emulator,
    token: str,
    polling_env: dict[str, str],
    programs: list[Program],
) -> None:
    project, env_file, supervisor = await start_reloader(tmp_path, polling_env, programs)

    # Another reloader, or a plain poller, of the same bot is refused while it runs.
    second = await run_in_copy(project, "--reload", "--env-file", str(env_file)).start()
    plain = await run_py(project, "--env-file", str(env_file)).start()
    programs += [second, plain]
    assert await second.wait(timeout=WAIT) == ExitCode.LOCKED
    assert await plain.wait(timeout=WAIT) == ExitCode.LOCKED
    for refused in (second, plain):
        assert "`python run.py --reload` is running bot" in refused.output, refused.output
        assert f"pid {supervisor.pid}" in refused.output
    # The doctor counts the reloader and its bot as one expected copy, not two.
    doctor = await run_py(project, "doctor", "--json", "--env-file", str(env_file)).start()
    programs.append(doctor)
    await doctor.wait(timeout=WAIT)
    report = json.loads(doctor.output[doctor.output.index("{") :])
    processes = next(c for c in report["checks"] if c["id"] == "processes")
    assert processes["status"] == "ok", processes

    # A syntax error: the error is shown, and the supervisor waits instead of looping.
    handlers = project / HANDLERS_FILE
    handlers.write_text(handlers.read_text() + "\ndef broken(:\n")
    await supervisor.wait_for_lines(f"{EXITED} 1", timeout=WAIT)
    assert "SyntaxError" in supervisor.output
    # Fixing the code but breaking the configuration: one more start, which exits 2.
    handlers.write_text(handlers.read_text().replace("\ndef broken(:\n", ""))
    env_file.write_text(env_file.read_text() + "SHUTDOWN_TIMEOUT=soon\n")
    await supervisor.wait_for_lines(f"{EXITED} 2", timeout=WAIT)
    assert "SHUTDOWN_TIMEOUT" in supervisor.output
    assert supervisor.proc is not None and supervisor.proc.returncode is None

    # The fix starts the bot again, and it answers.
    env_file.write_text(env_file.read_text().replace("SHUTDOWN_TIMEOUT=soon\n", ""))
    await supervisor.wait_for_lines(RESTARTED, timeout=WAIT)
    emulator.send_text(token, "fixed")
    assert [m["text"] for m in await emulator.wait_bot_messages(token, 100, 1, WAIT)] == ["fixed"]
    assert supervisor.count(f"{EXITED} 1") == 1  # no restart loop while it was broken
    assert supervisor.count(f"{EXITED} 2") == 1

    supervisor.send_signal(signal.SIGINT)  # Ctrl+C
    assert await supervisor.wait(timeout=WAIT) == ExitCode.OK, supervisor.output
    assert processes_in(project) == []
    assert [c for c in emulator.api_calls(token, "getUpdates") if c.error_code == 409] == []
