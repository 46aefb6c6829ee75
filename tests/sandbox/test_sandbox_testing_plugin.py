"""The handler-test fixture's own promises: a failing expectation shows the chat transcript,
a wait fails after its timeout instead of hanging, and a test file runs from any folder.

The failing tests run in a pytest of their own (a subprocess), from a temporary folder."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bot.settings import env_names
from tests.helpers.processes import ROOT

FAILING_TESTS = """
import pytest

from sandbox.testing import BotTest, TestUser

pytest_plugins = ["tests.sandbox_bot"]


@pytest.fixture
def bot_settings() -> dict[str, str]:
    return {"HANDLERS_MODULE": "tests.fixtures.conversation_handlers"}  # /pick: three buttons


@pytest.mark.asyncio
async def test_a_wrong_expectation(user: TestUser) -> None:
    reply = await user.send("/start")
    assert reply.text == "Goodbye"


@pytest.mark.asyncio
async def test_a_reply_that_never_comes(tg: BotTest, user: TestUser) -> None:
    tg.timeout = 0.5
    # The bot never gets the message: its long poll ends, and every next one fails.
    tg.fail_next("getUpdates", 500, count=1000)
    tg.state.abort_long_poll("Conflict: terminated by other getUpdates request")
    await user.send("are you there?")


@pytest.mark.asyncio
async def test_no_message_when_one_was_expected(user: TestUser) -> None:
    user.block_bot()
    reply = await user.send("/help")
    assert reply.text


@pytest.mark.asyncio
async def test_a_button_that_is_not_there(user: TestUser) -> None:
    await user.send("/pick")
    await user.click("Purple")
"""


async def test_failures_show_the_transcript_and_waits_time_out(tmp_path: Path) -> None:
    test_file = tmp_path / "test_failing.py"
    test_file.write_text(FAILING_TESTS)
    env = {k: v for k, v in os.environ.items() if k not in env_names()}
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "pytest", str(test_file), "-p", "no:cacheprovider"),
        cwd=ROOT,  # as `python -m pytest <file>` from the project root
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    raw, _ = await asyncio.wait_for(process.communicate(), 120)
    output = raw.decode()

    assert process.returncode == 1, output
    assert "4 failed" in output, output
    # A wrong expectation: the report has every chat of the test, as the user saw it.
    assert output.count("sandbox transcript") == 4
    assert "  Ada: /start\n  bot: Hello, Ada!" in output
    # A reply that never comes: the wait ends after its timeout, naming what it waited for.
    assert "timed out after 0.5 s waiting for the bot to handle 'are you there?'" in output
    # No message: the failed calls say why.
    assert "the bot sent no message and edited none; failed calls:" in output
    assert "sendMessage: Forbidden: bot was blocked by the user" in output
    # A missing button: the chat shows which buttons there are.
    assert "no button 'Purple' to click in chat 1001" in output
    assert "[Red] [Green] [Blue]" in output
