"""The commands through the real entrypoints, as deploy scripts run them (one process each:
importing aiogram costs seconds, so the other tests call the CLI in-process)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.exit_codes import ExitCode
from bot.settings import env_names
from sandbox import Emulator
from tests.helpers.cli import text_facts
from tests.helpers.processes import ROOT, BotProcess, free_port, write_env_file


async def test_python_m_bot_doctor_exits_7_with_one_json_document_when_the_api_is_down(
    tmp_path: Path, polling_env: dict[str, str]
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    env_file = write_env_file(tmp_path / "env", {**polling_env, "TELEGRAM_API_URL": closed})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "doctor",
        "--env-file",
        str(env_file),
        "--json",
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k not in env_names()},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == ExitCode.ATTENTION, err.decode()
    report = json.loads(out)
    assert report["exit_code"] == ExitCode.ATTENTION
    reachability = next(c for c in report["checks"] if c["id"] == "api_reachable")
    assert "connection refused" in reachability["summary"]


async def test_python_run_py_webhook_info_reads_the_emulator_and_exits_0(
    tmp_path: Path, emulator: Emulator, token: str, polling_env: dict[str, str]
) -> None:
    emulator.set_webhook_directly(token, "https://bot.example.com/telegram/webhook")
    env_file = write_env_file(tmp_path / "env", polling_env)

    process = await BotProcess("webhook", "info", "--env-file", str(env_file)).start()
    code = await process.wait()

    assert code == ExitCode.OK, process.output
    facts = text_facts(process.output)
    assert facts["url"] == "https://bot.example.com/telegram/webhook"
    assert facts["matches configuration"] == "no"


async def test_run_py_exits_2_listing_every_problem_with_the_token_masked(
    start_bot: Callable[..., Awaitable[BotProcess]],
) -> None:
    values = {
        "BOT_TOKEN": "123456789:bad token",
        "BOT_MODE": "webhook",
        "WEBHOOK_BASE_URL": "http://bot.example.com",
    }
    process = await start_bot(values)
    assert await process.wait(timeout=20) == ExitCode.CONFIG
    output = process.output
    assert "Invalid configuration" in output
    for needle in ("BOT_TOKEN (123456789:***) is malformed", "must use https", "WEBHOOK_SECRET"):
        assert needle in output
    assert "bad token" not in output
    assert "Traceback" not in output
