"""`python run.py` polling with LOG_FORMAT=json, METRICS_PORT and SENTRY_DSN (a fake collector
on loopback): what a log shipper, Prometheus and Sentry receive."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.cli import main
from bot.exit_codes import ExitCode
from sandbox import Emulator
from tests.helpers.metrics import scrape
from tests.helpers.processes import BotProcess, free_port, write_env_file
from tests.helpers.sentry import PUBLIC_KEY, FakeSentry

StartBot = Callable[..., Awaitable[BotProcess]]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


async def doctor_json(env: dict[str, str], root: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    """`python -m bot doctor --json` on the same configuration, in this process."""
    env_file = write_env_file(root / ".env.doctor", env)
    capsys.readouterr()
    await asyncio.to_thread(main, ["doctor", "--json", "--env-file", str(env_file)], root)
    report: dict = json.loads(capsys.readouterr().out)
    return report


async def test_json_logs_metrics_port_doctor_and_one_scrubbed_sentry_event_per_exception(
    emulator: Emulator,
    token: str,
    polling_env: dict[str, str],
    start_bot: StartBot,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()
    async with FakeSentry() as sentry:
        env = {
            **polling_env,
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "DEBUG",  # every line aiogram and the bot write must be JSON too
            "METRICS_PORT": str(port),
            "SENTRY_DSN": sentry.dsn,
            "HANDLERS_MODULE": "tests.fixtures.failing_handlers",
        }
        bot = await start_bot(env)
        await bot.wait_for_line("is polling")
        emulator.send_text(token, "hello metrics", chat_id=701)
        await emulator.wait_bot_messages(token, 701, 1)
        emulator.send_command(token, "/fail", chat_id=702)
        await emulator.wait_bot_messages(token, 702, 1)  # the error handler's apology
        events = await sentry.wait_for_events(1)
        metrics = await scrape(f"http://127.0.0.1:{port}/metrics")
        report = await doctor_json(env, tmp_path, capsys)
        bot.send_signal(signal.SIGTERM)
        assert await bot.wait() == ExitCode.OK

    updates = "telegram_bot_updates_total"
    assert metrics.value(updates, type="message", outcome="handled") == 1
    assert metrics.value(updates, type="message", outcome="failed") == 1
    assert metrics.value("telegram_bot_api_requests_total", method="getUpdates", outcome="ok") >= 1
    assert metrics.value("telegram_bot_handler_duration_seconds_count", handler="fail") == 1
    # doctor read the same /metrics: one update in two failed.
    check = next(c for c in report["checks"] if c["id"] == "metrics")
    assert check["status"] == "warning" and "1 failed in a handler (50.0%)" in check["summary"]
    assert check["details"] == {
        "url": f"http://127.0.0.1:{port}/metrics",
        "updates": 2,
        "failed": 1,
        "error_rate": 0.5,
    }

    records = [json.loads(line) for line in bot.lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    failure = next(r for r in records if r["message"].startswith("Handler failed on update"))
    assert failure["level"] == "ERROR" and failure["chat_id"] == 702
    assert "RuntimeError: failed on purpose" in failure["exception"]
    assert any(r["message"].startswith("Bot @sandbox_") for r in records)
    secret_part = token.split(":", 1)[1]
    assert secret_part not in bot.output and PUBLIC_KEY not in bot.output

    assert len(sentry.events) == 1  # the handlers' error log line is no second event
    event = events[0]
    assert event["tags"]["update_type"] == "message"
    assert event["contexts"]["update"]["chat_id"] == 702
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    sent = "\n".join(sentry.raw)
    assert secret_part not in sent
    assert "'/fail'" not in sent and "hello metrics" not in sent  # no message text
    assert "[text]" in event["exception"]["values"][-1]["value"]
