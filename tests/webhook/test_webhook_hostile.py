"""What a hostile or broken client can do to the webhook app serving alone: refused, bounded, quiet.

The app runs on the standalone server's own runner and listener (read timeouts, connection
cap), as `python run.py` serves it in webhook mode without nginx.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from sandbox import Emulator
from tests.helpers.constants import SECRET
from tests.helpers.webhook import App, StartApp, raw_post

pytestmark = pytest.mark.usefixtures("caplog")

SECRET_HEADER = (b"X-Telegram-Bot-Api-Secret-Token", SECRET.encode())
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


async def _send(app: App, *parts: bytes) -> bytes:
    """Write raw bytes on a new connection, part after part; what the server answers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", app.port)
    try:
        for part in parts:
            writer.write(part)
            await writer.drain()
        async with asyncio.timeout(15):
            return await reader.read()
    finally:
        writer.close()


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize(
    ("encoding", "statuses"),
    [
        ("gzip", {415}),
        ("deflate", {415}),
        ("gzip, identity", {415}),
        # Without the brotli package aiohttp itself refuses br with 400, before the app.
        ("br", {400, 415}),
    ],
)
async def test_a_compressed_body_with_the_right_secret_is_refused_without_a_traceback(
    start_app: StartApp,
    emulator: Emulator,
    token: str,
    caplog: pytest.LogCaptureFixture,
    encoding: str,
    statuses: set[int],
) -> None:
    running = await start_app()

    response = await running.post(b"\x1f\x8b garbage", headers={"Content-Encoding": encoding})

    assert response.status in statuses
    assert _errors(caplog) == []
    assert running.reached_dispatcher == []
    assert (await running.post(emulator.send_text(token, "next", chat_id=901))).status == 200


async def test_a_chunked_body_with_broken_framing_is_answered_400(
    start_app: StartApp, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_app()
    head = (
        f"POST {running.settings.webhook_path} HTTP/1.1\r\nHost: x\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )

    # The framing breaks after the headers, while the handler reads the body.
    answer = await _send(running, head.encode() + b'5\r\n{"upd\r\n', b"zz-not-a-size\r\n")

    assert answer.split(b"\r\n")[0].endswith(b" 400 Bad Request")
    assert _errors(caplog) == []
    assert running.reached_dispatcher == []


async def test_an_update_aiogram_cannot_read_gets_200_one_error_and_the_chat_goes_on(
    start_app: StartApp, emulator: Emulator, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_app()
    # Telegram sent it (the secret is right), in a shape aiogram does not know.
    unreadable = {"update_id": 424242, "message": {"message_id": 1, "date": 0, "chat": "no object"}}

    response = await running.post(unreadable)
    after = await running.post(emulator.send_text(token, "and then", chat_id=902))

    assert response.status == 200  # a 4xx would hold the chat's later updates back
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "424242" in errors[0].getMessage() and "message.chat" in errors[0].getMessage()
    assert after.status == 200
    assert [m["text"] for m in emulator.bot_messages(token, 902)] == ["and then"]


async def test_thousands_of_refused_and_malformed_requests_write_a_few_lines_and_no_traceback(
    start_app: StartApp, emulator: Emulator, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_app()
    caplog.set_level(logging.DEBUG)
    path = running.settings.webhook_path

    async def refused(i: int) -> int:
        kinds: list[list[tuple[bytes, bytes]]] = [
            [],  # no secret
            [(SECRET_HEADER[0], b"wrong")],
            [SECRET_HEADER, (b"Content-Encoding", b"gzip")],
        ]
        return await raw_post(running.port, path, kinds[i % 3], b'{"update_id": 1}')

    statuses = [await refused(i) for i in range(2000)]
    malformed = [
        b"POST /telegram/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\n\r\n",
    ]
    answers = [await _send(running, malformed[i % 4]) for i in range(200)]

    assert sorted(set(statuses)) == [401, 415]
    assert all(answer.split(b" ")[1].startswith(b"4") for answer in answers), answers[:4]
    assert _errors(caplog) == []
    ours = [r for r in caplog.records if r.name.startswith(("bot", "aiohttp"))]
    # One line per reason when it first happens, then a summary per interval: a handful.
    assert len(ours) <= 20, [r.getMessage() for r in ours]
    assert any("Malformed HTTP request refused: 400" in r.getMessage() for r in ours)
    assert (await running.post(emulator.send_text(token, "still fine", chat_id=903))).status == 200


async def test_slow_headers_and_slow_bodies_are_cut_off_after_the_read_timeout(
    start_app: StartApp, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_app(web_read_timeout=1.0)
    path = running.settings.webhook_path
    started = time.monotonic()

    slow_header = _send(running, b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Slow")
    slow_body = _send(
        running,
        f"POST {path} HTTP/1.1\r\nHost: x\r\nX-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n"
        'Content-Length: 1000\r\n\r\n{"update_id": '.encode(),
    )
    silent = _send(running, b"")
    header_answer, body_answer, silent_answer = await asyncio.gather(slow_header, slow_body, silent)

    elapsed = time.monotonic() - started
    assert header_answer == b"" and silent_answer == b""  # closed, nothing to answer
    assert body_answer.startswith(b"HTTP/1.1 408")
    assert elapsed < 8, elapsed  # 1 s configured; the full 60 s before
    assert running.reached_dispatcher == []


async def test_connections_past_the_cap_are_closed_at_once_and_summarised(
    start_app: StartApp, emulator: Emulator, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_app(web_max_connections=3, web_read_timeout=30.0)
    idle = [await asyncio.open_connection("127.0.0.1", running.port) for _ in range(3)]
    try:
        server = running.runner.server
        assert server is not None
        async with asyncio.timeout(10):  # the server has registered the three
            while len(server.connections) < 3:
                await asyncio.sleep(0.01)
        extra = [await _send(running, HEALTHZ) for _ in range(5)]

        assert extra == [b""] * 5  # closed without an answer
        lines = [r.getMessage() for r in caplog.records if "WEB_MAX_CONNECTIONS" in r.getMessage()]
        assert len(lines) == 1
    finally:
        for _, writer in idle:
            writer.close()
    # Once they are gone, requests are served again.
    async with asyncio.timeout(10):
        while (await _send(running, HEALTHZ)) == b"":
            await asyncio.sleep(0.05)
    assert (await running.post(emulator.send_text(token, "served", chat_id=904))).status == 200


async def test_a_slow_body_counts_against_max_in_flight_while_it_is_read(
    start_app: StartApp, emulator: Emulator, token: str
) -> None:
    running = await start_app(webhook_max_in_flight=1, web_read_timeout=30.0)
    _, writer = await asyncio.open_connection("127.0.0.1", running.port)
    try:
        writer.write(
            f"POST {running.settings.webhook_path} HTTP/1.1\r\nHost: x\r\n"
            f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\nContent-Length: 1000\r\n\r\n".encode()
        )
        await writer.drain()
        async with asyncio.timeout(10):  # the slow request is past its headers
            while running.handler.accepted < 1:
                await asyncio.sleep(0.01)

        refused = await running.post(emulator.send_text(token, "meanwhile", chat_id=905))

        assert refused.status == 503  # the slow body holds the one slot
    finally:
        writer.close()
    later = emulator.send_text(token, "later", chat_id=905)
    async with asyncio.timeout(10):
        while (await running.post(later)).status == 503:  # until the server saw it leave
            await asyncio.sleep(0.05)
    assert [m["text"] for m in emulator.bot_messages(token, 905)] == ["later"]
