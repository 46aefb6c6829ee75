"""/metrics of the webhook app, in this process: what a scripted session against the emulator
adds to each counter. The registry is the process's own, so the tests compare two scrapes."""

from __future__ import annotations

from sandbox import Emulator
from tests.helpers.metrics import Scrape, scrape
from tests.helpers.webhook import App, StartApp

FAILING_HANDLERS = "tests.fixtures.failing_handlers"


async def metrics_of(app: App) -> Scrape:
    return await scrape(app.base_url + "/metrics")


def grew(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


async def test_metrics_count_handled_duplicate_failed_refused_updates_and_a_429(
    start_app: StartApp, emulator: Emulator, token: str
) -> None:
    running = await start_app(handlers_module=FAILING_HANDLERS)
    before = await metrics_of(running)

    hello = emulator.send_text(token, "hello", chat_id=601)
    statuses = [(await running.post(hello)).status, (await running.post(hello)).status]
    statuses.append((await running.post(emulator.send_command(token, "/fail", chat_id=602))).status)
    statuses.append((await running.post(emulator.send_text(token, "x", chat_id=603), "bad")).status)
    emulator.inject_fault(token, "sendMessage", status=429, retry_after=1)
    statuses.append((await running.post(emulator.send_text(token, "flood", chat_id=604))).status)
    after = await metrics_of(running)

    assert statuses == [200, 200, 200, 401, 200]
    updates = "telegram_bot_updates_total"
    # The echo of "flood" met the emulator's 429: flood control sent it again after 1 s.
    assert grew(before, after, updates, type="message", outcome="handled") == 2
    assert grew(before, after, updates, type="message", outcome="duplicate") == 1
    assert grew(before, after, updates, type="message", outcome="failed") == 1  # /fail raised
    assert grew(before, after, updates) == 4
    refused = "telegram_bot_webhook_refusals_total"
    assert grew(before, after, refused, status="401", reason="wrong_secret") == 1
    assert grew(before, after, refused) == 1
    calls = "telegram_bot_api_requests_total"
    assert grew(before, after, calls, method="sendMessage", outcome="429") == 1
    # The echoes of "hello" and "flood" (its second attempt), and the apology for /fail.
    assert grew(before, after, calls, method="sendMessage", outcome="ok") == 3
    assert grew(before, after, "telegram_bot_flood_wait_seconds_count", reason="retry_after") == 1
    timed = "telegram_bot_handler_duration_seconds_count"
    assert grew(before, after, timed, router="failing", handler="fail") == 1
    assert grew(before, after, timed, router="echo") == 2
    assert grew(before, after, timed, router="errors", handler="on_error") == 1
    assert after.value("telegram_bot_updates_in_flight") == 0
    assert after.labels("telegram_bot_build_info", "version") == {"0.1.0"}
    assert after.value("telegram_bot_process_start_time_seconds") > 0
