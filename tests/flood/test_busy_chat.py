"""One chat's wait is that chat's alone: while one user's replies wait for their chat's flood
slot (1 a second), everyone else is fetched, handled and answered; the flooding user's excess
is dropped, counted and logged once."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from bot.owner import BotRuntime
from bot.webhook.app import create_app
from tests.helpers.busy_chat import (
    ANSWERED_WITHIN,
    FLOODER,
    assert_flooder_limited,
    dropped_so_far,
    flood_then_others,
    run_flood,
)
from tests.helpers.constants import CONVERSATION_HANDLERS, SECRET
from tests.helpers.flood import StartEmulator, broadcast_settings
from tests.helpers.logs import LogWatcher
from tests.helpers.webhook import serve_app


async def test_one_user_sending_200_at_once_keeps_no_other_user_waiting_in_polling(
    limited_emulator: StartEmulator, token: str, tmp_path: Path, logs: LogWatcher
) -> None:
    tg = await limited_emulator(1)  # Telegram's own limits: the flooder gets 1 reply a second
    dropped_before = dropped_so_far()
    took = await run_flood(tg, token, tmp_path, logs)
    assert took <= ANSWERED_WITHIN
    assert_flooder_limited(tg, token, logs, dropped_so_far() - dropped_before)


async def test_one_user_sending_200_at_once_keeps_no_other_user_waiting_in_webhook_mode(
    limited_emulator: StartEmulator, token: str, tmp_path: Path
) -> None:
    tg = await limited_emulator(1)
    settings = broadcast_settings(
        tg,
        token,
        tmp_path,
        1,
        HANDLERS_MODULE=CONVERSATION_HANDLERS,
        APP_ENV="production",
        BOT_MODE="webhook",
        WEBHOOK_BASE_URL="http://127.0.0.1:9",  # registered below, by the test
        WEBHOOK_SECRET=SECRET,
    )
    runtime = BotRuntime(settings)
    app = create_app(settings, runtime)
    async with aiohttp.ClientSession() as http:
        served = await serve_app(app, settings, http, [])
        # The emulator delivers as Telegram does: one chat's next update once the previous
        # one was answered, other chats on the other connections.
        url = served.base_url + settings.webhook_path
        tg.set_webhook_directly(token, url, secret_token=SECRET, max_connections=40)
        try:
            took = await flood_then_others(tg, token)
        finally:
            tg.set_webhook_directly(token, "")
            await served.stop()

    print(f"the 20 other users were answered within {took:.2f} s")
    assert took <= ANSWERED_WITHIN
    flood_replies = [m["text"] for m in tg.bot_messages(token, FLOODER)]
    assert flood_replies == [f"flood {n}" for n in range(len(flood_replies))]
