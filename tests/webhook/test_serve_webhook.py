"""`python run.py` in webhook mode: registers once, serves, drains on SIGTERM, exits 0."""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from sandbox import Emulator
from tests.helpers.constants import SECRET
from tests.helpers.processes import BotProcess, free_port


async def test_run_py_serves_the_webhook_and_finishes_the_update_in_flight_on_sigterm(
    start_bot: Callable[..., Awaitable[BotProcess]],
    emulator: Emulator,
    token: str,
    tmp_path: Path,
) -> None:
    port = free_port()
    bot = await start_bot(
        {
            "BOT_TOKEN": token,
            "APP_ENV": "production",
            "TELEGRAM_API_URL": emulator.base_url,
            "WEBHOOK_BASE_URL": f"http://127.0.0.1:{port}",
            "WEBHOOK_SECRET": SECRET,
            "WEB_PORT": str(port),
            "LOCK_DIR": str(tmp_path / "state"),
            "SHUTDOWN_TIMEOUT": "10",
            "HANDLERS_MODULE": "tests.fixtures.slow_handlers",  # adds /slow (2 s)
        }
    )
    await bot.wait_for_line(f"Webhook app listening on http://127.0.0.1:{port}")
    assert len(emulator.api_calls(token, "setWebhook")) == 1
    assert emulator.webhook(token).url == f"http://127.0.0.1:{port}/telegram/webhook"

    emulator.send_command(token, "/start", chat_id=701)
    await emulator.wait_bot_messages(token, 701, 1)
    slow = emulator.send_command(token, "/slow", chat_id=702)
    await bot.wait_for_line("Slow handler started")
    bot.send_signal(signal.SIGTERM)

    assert await bot.wait() == 0
    replies = emulator.bot_messages(token, 702)
    assert [m["text"] for m in replies] == [f"Slow reply for update {slow['update_id']}"]
    answered = [d for d in emulator.deliveries(token) if d.update_id == slow["update_id"]]
    assert [d.status for d in answered] == [200]
    assert SECRET not in bot.output and token not in bot.output
