"""End to end with the real programs: emulator -> HTTPS -> nginx -> gunicorn (2 workers)."""

from __future__ import annotations

import aiohttp

from tests.helpers.constants import DEPLOY_WEBHOOK_PATH as WEBHOOK_PATH
from tests.helpers.constants import SECRET
from tests.helpers.metrics import Scrape, scrape
from tests.helpers.stack import WORKERS, Stack


async def scrape_gunicorn(stack: Stack) -> Scrape:
    """/metrics through gunicorn's socket, as a Prometheus on the same host would."""
    socket = stack.env["GUNICORN_BIND"].removeprefix("unix:")
    return await scrape("http://localhost/metrics", connector=aiohttp.UnixConnector(path=socket))


async def test_updates_reach_handlers_through_nginx_and_gunicorn_and_a_wrong_secret_gets_401(
    stack: Stack,
) -> None:
    tg, token = stack.tg, stack.token
    master = await stack.start_gunicorn()

    # Registered once, by the master, before the workers started.
    assert stack.set_webhook_ok_calls() == 1
    assert tg.webhook(token).url == stack.webhook_url
    for chat_id in range(801, 807):
        tg.send_text(token, f"hello {chat_id}", chat_id=chat_id)
    tg.send_command(token, "/start", chat_id=807)
    for chat_id in range(801, 807):
        replies = await tg.wait_bot_messages(token, chat_id, 1)
        assert [m["text"] for m in replies] == [f"hello {chat_id}"]
    assert (await tg.wait_bot_messages(token, 807, 1))[0]["text"].startswith("Hello")
    deliveries = await tg.wait_deliveries(token, 7)
    assert [d.status for d in deliveries] == [200] * 7, master.output

    assert SECRET not in master.output and token not in master.output
    assert SECRET not in stack.nginx.access_log()
    assert f"POST {WEBHOOK_PATH}" in stack.nginx.access_log()
    https = f"https://127.0.0.1:{stack.nginx.https_port}"
    async with aiohttp.ClientSession() as http:
        # The readiness probe `python -m bot migrate` uses is reachable at the public URL.
        async with http.get(f"{https}/readyz", ssl=stack.client_ssl) as r:
            assert r.status == 200
        # nginx passes Content-Encoding on: a corrupt compressed body with the right secret
        # is refused by the app, not a 500 with tracebacks in the workers' log.
        for encoding in ("gzip", "deflate"):
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Encoding": encoding}
            async with http.post(
                https + WEBHOOK_PATH,
                data=b"\x1f\x8b garbage",
                headers=headers,
                ssl=stack.client_ssl,
            ) as r:
                assert r.status == 415
    assert "Traceback" not in master.output and "ERROR" not in master.output

    # A wrong secret (someone else's request, or a secret changed without a new setWebhook):
    # 401 through nginx, shown by getWebhookInfo.
    right = tg.webhook(token)
    tg.set_webhook_directly(
        token, right.url, secret_token="not-the-secret", allowed_updates=right.allowed_updates
    )
    tg.send_text(token, "knock knock", chat_id=811)
    await tg.wait_until(lambda: tg.webhook(token).last_error_message is not None)

    error = tg.webhook(token).last_error_message
    assert error == "Wrong response from the webhook: 401 Unauthorized"
    assert tg.bot_messages(token, 811) == []
    assert "wrong secret header" in master.output and "not-the-secret" not in master.output
    # With the right secret again, Telegram's retry is handled: nothing was lost.
    tg.set_webhook_directly(
        token, right.url, secret_token=SECRET, allowed_updates=right.allowed_updates
    )
    assert [m["text"] for m in await tg.wait_bot_messages(token, 811, 1)] == ["knock knock"]


async def test_one_scrape_of_metrics_sums_every_gunicorn_worker(stack: Stack) -> None:
    tg, token = stack.tg, stack.token
    master = await stack.start_gunicorn()
    # Handlers that take a second each, all at once: both workers get some of them.
    for chat_id in range(821, 829):
        tg.send_command(token, "/slow", chat_id=chat_id)
    for chat_id in range(821, 829):
        await tg.wait_bot_messages(token, chat_id, 1, timeout=30)
    await tg.wait_deliveries(token, 8)
    handled_by = {line.rsplit(" ", 1)[1] for line in master.lines if "Slow handler started" in line}

    metrics = await scrape_gunicorn(stack)

    assert len(handled_by) == WORKERS, master.output
    assert metrics.value("telegram_bot_updates_total", type="message", outcome="handled") == 8
    assert metrics.value("telegram_bot_handler_duration_seconds_count", router="slow") == 8
    assert metrics.labels("telegram_bot_process_start_time_seconds", "pid") == handled_by
    assert metrics.value("telegram_bot_updates_in_flight") == 0


async def test_nginx_passes_only_post_on_the_webhook_path_and_get_readyz(stack: Stack) -> None:
    https = f"https://127.0.0.1:{stack.nginx.https_port}"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession() as http:

        async def status(method: str, url: str, data: bytes = b"{}") -> int:
            async with http.request(
                method, url, data=data, headers=headers, ssl=stack.client_ssl, allow_redirects=False
            ) as response:
                return response.status

        assert await status("GET", https + WEBHOOK_PATH) == 404
        assert await status("PUT", https + WEBHOOK_PATH) == 404
        assert await status("GET", https + "/healthz") == 404  # liveness stays internal
        assert await status("GET", https + "/metrics") == 404  # so do the metrics
        assert await status("POST", https + "/readyz") == 404
        assert await status("GET", https + "/readyz") == 502  # proxied (gunicorn is down)
        assert await status("POST", https + "/other") == 404
        assert await status("POST", https + WEBHOOK_PATH) == 502  # proxied (gunicorn is down)
        assert await status("POST", https + WEBHOOK_PATH, b"x" * (2 * 1024 * 1024)) == 413
        http_url = f"http://127.0.0.1:{stack.nginx.http_port}{WEBHOOK_PATH}"
        assert await status("POST", http_url) == 301  # plain HTTP is redirected to HTTPS
