"""The commands through the real entrypoints, as deploy scripts run them (one process each:
importing aiogram costs seconds, so the other tests call the CLI in-process)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from bot.commands.report import CommandExit
from bot.config import KNOWN_KEYS
from sandbox import Emulator
from tests.support import ROOT, BotProcess, free_port, write_env_file


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
        env={k: v for k, v in os.environ.items() if k not in KNOWN_KEYS},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == CommandExit.ATTENTION, err.decode()
    report = json.loads(out)
    assert report["exit_code"] == CommandExit.ATTENTION
    reachability = next(c for c in report["checks"] if c["id"] == "api_reachable")
    assert "connection refused" in reachability["summary"]


async def test_python_run_py_webhook_info_reads_the_emulator_and_exits_0(
    tmp_path: Path, emulator: Emulator, token: str, polling_env: dict[str, str]
) -> None:
    emulator.set_webhook_directly(token, "https://bot.example.com/telegram/webhook")
    env_file = write_env_file(tmp_path / "env", polling_env)

    process = await BotProcess("webhook", "info", "--env-file", str(env_file)).start()
    code = await process.wait()

    assert code == CommandExit.OK, process.output
    assert "url                    https://bot.example.com/telegram/webhook" in process.output
    assert "matches configuration  False" in process.output
