"""Injected faults, the HTTP control side, https delivery and `python -m sandbox`."""

from __future__ import annotations

import asyncio
import shutil
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiohttp import web

from sandbox import Emulator
from tests.helpers.emulator import WebhookReceiver, call

ROOT = Path(__file__).resolve().parents[2]


async def test_injected_errors_answer_the_next_calls_then_stop(
    bot: Bot, tg: Emulator, token: str
) -> None:
    tg.inject_fault(token, "getMe", status=500, count=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Internal Server Error"):
            await bot.get_me()
    assert (await bot.get_me()).id == bot.id
    assert [(c.ok, c.error_code, c.via) for c in tg.api_calls(token, "getMe")] == [
        (False, 500, "fault"),
        (False, 500, "fault"),
        (True, None, "http"),
    ]


async def test_injected_502_and_429_carry_telegrams_wording(
    tg: Emulator, http: aiohttp.ClientSession, bot: Bot, token: str
) -> None:
    tg.inject_fault(token, "getUpdates", status=502)
    assert await call(http, tg, token, "getUpdates") == (
        502,
        {"ok": False, "error_code": 502, "description": "Bad Gateway"},
    )
    tg.send_text(token, "hi", chat_id=100)
    tg.inject_fault(token, "sendMessage", status=429, retry_after=2)
    with pytest.raises(TelegramRetryAfter) as limited:
        await bot.send_message(100, "x")
    assert limited.value.retry_after == 2
    assert "Too Many Requests: retry after 2" in str(limited.value)
    assert tg.bot_messages(token, 100) == []


async def test_an_injected_drop_closes_the_connection(bot: Bot, tg: Emulator, token: str) -> None:
    tg.inject_fault(token, "getUpdates", drop=True)
    with pytest.raises(TelegramNetworkError):
        await bot.get_updates()
    assert await bot.get_updates() == []


async def test_the_control_routes_drive_a_bot_over_http(
    tg: Emulator, http: aiohttp.ClientSession, receiver: WebhookReceiver, token: str
) -> None:
    control = f"{tg.base_url}/sandbox/bots/{token}"

    async def post(route: str, **body: object) -> object:
        async with http.post(f"{control}/{route}", json=body) as response:
            answer = await response.json()
            assert response.status == 200, answer
            return answer["result"]

    async def get(route: str, **query: str) -> object:
        async with http.get(f"{control}/{route}", params=query) as response:
            answer = await response.json()
            assert response.status == 200, answer
            return answer["result"]

    async with http.get(f"{tg.base_url}/sandbox/health") as response:
        assert (await response.json())["result"]["base_url"] == tg.base_url
    update = await post("send_command", command="/start", chat_id=100)
    assert isinstance(update, dict) and update["message"]["entities"][0]["type"] == "bot_command"
    assert await get("pending_updates") == [update]
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    await call(http, tg, token, "sendMessage", chat_id=100, text="menu", reply_markup=markup)
    messages = await get("chats/100/bot_messages", count="1", timeout="5")
    assert isinstance(messages, list) and messages[0]["text"] == "menu"
    pressed = await post(
        "press_button", chat_id=100, message_id=messages[0]["message_id"], callback_data="go"
    )
    assert isinstance(pressed, dict) and pressed["callback_query"]["data"] == "go"
    edited = await post(
        "edit_user_message", chat_id=100, message_id=update["message"]["message_id"], text="/help"
    )
    assert isinstance(edited, dict) and edited["edited_message"]["text"] == "/help"
    calls = await get("api_calls", method="sendMessage")
    assert isinstance(calls, list) and calls[0]["method"] == "sendMessage" and calls[0]["ok"]
    await post("faults", method="getMe", status=502)
    assert (await call(http, tg, token, "getMe"))[0] == 502
    await post("pause_delivery")
    webhook = await post("webhook", url=receiver.url, secret_token="abc")
    assert isinstance(webhook, dict) and webhook["url"] == receiver.url
    assert webhook["pending_update_count"] == 3
    await post("send_text", text="hello", chat_id=100)
    await post("resume_delivery")
    await receiver.wait_received(4)
    await tg.wait_deliveries(token, 4)
    deliveries = await get("deliveries")
    assert isinstance(deliveries, list) and all(d["acknowledged"] for d in deliveries)
    state = await get("webhook")
    assert isinstance(state, dict) and state["pending_update_count"] == 0


async def test_control_errors_say_what_is_wrong(
    tg: Emulator, http: aiohttp.ClientSession, token: str
) -> None:
    async with http.post(
        f"{tg.base_url}/sandbox/bots/not-a-token/send_text", json={"text": "x"}
    ) as r:
        assert r.status == 400 and "malformed bot token" in (await r.json())["description"]
    async with http.post(f"{tg.base_url}/sandbox/bots/{token}/send_text", json={}) as r:
        assert r.status == 400 and (await r.json())["ok"] is False
    url = f"{tg.base_url}/sandbox/bots/{token}/chats/5/bot_messages"
    async with http.get(url, params={"count": "1", "timeout": "0.1"}) as r:
        assert (
            r.status == 408
            and "1 bot message(s) in chat 5 (have 0)" in (await r.json())["description"]
        )


def _make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1, made with the openssl CLI."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=Sandbox Test CA",
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    )
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "1",
        "-extfile",
        "san.ext",
    )
    return folder / "ca.pem", folder / "server.pem", folder / "server.key"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
async def test_https_webhooks_use_delivery_ssl(tmp_path: Path, token: str) -> None:
    ca, cert, key = _make_certificates(tmp_path)
    server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ssl.load_cert_chain(cert, key)
    received: list[int] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.json())["update_id"])
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl).start()
    url = f"https://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        async with Emulator(retry_first_delay=5) as untrusting:
            untrusting.set_webhook_directly(token, url)
            untrusting.send_text(token, "x")
            await untrusting.wait_deliveries(token, 1)
            error = untrusting.webhook(token).last_error_message or ""
            assert error.startswith("SSL error {error:certificate verify failed: "), error
        async with Emulator(delivery_ssl=ssl.create_default_context(cafile=ca)) as trusting:
            trusting.set_webhook_directly(token, url)
            update = trusting.send_text(token, "x")
            [delivery] = await trusting.wait_deliveries(token, 1)
            assert delivery.acknowledged and received == [update["update_id"]]
    finally:
        await runner.cleanup()


async def test_python_m_sandbox_prints_its_readiness_line_and_serves(token: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox",
        "--port",
        "0",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode().strip()
        prefix = "sandbox: Bot API emulator listening on http://127.0.0.1:"
        assert line.startswith(prefix), line
        base_url = line.removeprefix("sandbox: Bot API emulator listening on ")
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{base_url}/bot{token}/getMe") as response,
        ):
            assert (await response.json())["result"]["id"] == int(token.split(":")[0])
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
