"""The webhook route, in this process: what each request gets, and what reaches the handlers."""

from __future__ import annotations

import asyncio
import logging

import pytest

from sandbox import Emulator
from tests.helpers.constants import SECRET
from tests.helpers.webhook import Gate, StartApp, raw_post

pytestmark = pytest.mark.usefixtures("caplog")


async def test_update_is_handled_before_it_is_answered_200(
    start_app: StartApp, emulator: Emulator, token: str
) -> None:
    running = await start_app()
    update = emulator.send_command(token, "/start", chat_id=501)

    response = await running.post(update)

    assert response.status == 200
    # Acknowledged after handling: the reply is already at Telegram when the 200 arrives.
    replies = emulator.bot_messages(token, 501)
    assert len(replies) == 1 and replies[0]["text"].startswith("Hello")


async def test_a_redelivery_while_the_first_is_handled_gets_503_and_after_it_200(
    start_app: StartApp, emulator: Emulator, token: str
) -> None:
    gate = Gate()
    running = await start_app(dispatcher=gate.dispatcher())
    update = emulator.send_text(token, "slow one", chat_id=503)
    first = asyncio.create_task(running.post(update))
    await gate.started.wait()

    during = await running.post(update)  # Telegram retried: the first has not answered yet
    gate.release()
    after = (await first, await running.post(update))

    assert during.status == 503  # not 200: if the first handling died, this retry would count
    assert [response.status for response in after] == [200, 200]
    assert running.reached_dispatcher == [update["update_id"]]


async def test_redelivered_update_is_answered_200_and_handled_once(
    start_app: StartApp, emulator: Emulator, token: str
) -> None:
    running = await start_app()
    update = emulator.send_text(token, "only once", chat_id=502)

    first = await running.post(update)
    second = await running.post(update)

    assert (first.status, second.status) == (200, 200)
    assert [m["text"] for m in emulator.bot_messages(token, 502)] == ["only once"]
    assert running.reached_dispatcher == [update["update_id"]]


BAD_REQUESTS = [
    pytest.param({}, None, 401, "no secret header", id="missing-secret"),
    pytest.param({}, "wrong-secret", 401, "wrong secret header", id="wrong-secret"),
    pytest.param({}, SECRET + "x", 401, "wrong secret header", id="longer-secret"),
    pytest.param(b"not json", SECRET, 400, "json_invalid", id="not-json"),
    pytest.param(b"\xff\xfe\x00", SECRET, 400, "json_invalid", id="not-utf8"),
    pytest.param(b"", SECRET, 400, "json_invalid", id="empty-body"),
    pytest.param(b"[" * 50_000, SECRET, 400, "not a Telegram Update", id="deeply-nested"),
    pytest.param({}, SECRET, 400, "missing at update_id", id="json-without-update-id"),
    pytest.param([1, 2], SECRET, 400, "not a Telegram Update", id="json-array"),
    pytest.param({"update_id": "x"}, SECRET, 400, "update_id", id="update-id-not-a-number"),
    pytest.param({"update_id": 1.5}, SECRET, 400, "update_id", id="update-id-a-fraction"),
    pytest.param(b"x" * (65 * 1024), SECRET, 413, "over the limit", id="over-the-size-limit"),
]


@pytest.mark.parametrize(("body", "secret", "status", "logged"), BAD_REQUESTS)
async def test_bad_request_gets_4xx_and_one_log_line_and_never_reaches_the_dispatcher(
    start_app: StartApp,
    emulator: Emulator,
    token: str,
    caplog: pytest.LogCaptureFixture,
    body: object,
    secret: str | None,
    status: int,
    logged: str,
) -> None:
    running = await start_app()
    caplog.set_level(logging.WARNING, logger="bot.webhook")

    response = await running.post(body, secret=secret)

    assert response.status == status
    refusals = [r for r in caplog.records if r.name == "bot.webhook.refusals"]
    assert len(refusals) == 1
    assert f"refused: {status}" in refusals[0].getMessage()
    assert logged in refusals[0].getMessage()
    assert SECRET not in caplog.text
    assert running.reached_dispatcher == []
    # The worker is still fine: the next good update is handled.
    assert (await running.post(emulator.send_text(token, "still here"))).status == 200
    assert len(running.reached_dispatcher) == 1


async def test_non_ascii_secret_header_gets_401_not_500(
    start_app: StartApp, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_app()
    port = running.port
    assert port is not None
    secret_header = b"X-Telegram-Bot-Api-Secret-Token"

    statuses = [
        await raw_post(
            port, running.settings.webhook_path, [(secret_header, value)], b'{"update_id": 1}'
        )
        for value in ("sécret".encode(), b"\xff\xfe", SECRET.encode() + b"\xc3\xa9")
    ]

    assert statuses == [401, 401, 401]
    assert caplog.text.count("non-ASCII secret header") == 1  # one summary per reason
    assert running.reached_dispatcher == []


async def test_chunked_body_over_the_limit_gets_413(start_app: StartApp) -> None:
    running = await start_app()

    async def chunks():  # no Content-Length: only the read can tell the size
        for _ in range(20):
            yield b" " * 8192

    response = await running.post(chunks())

    assert response.status == 413
    assert running.reached_dispatcher == []


async def test_handler_exception_is_logged_and_answered_200(
    start_app: StartApp, emulator: Emulator, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    from aiogram import Dispatcher, Router

    router = Router(name="broken")

    async def broken(message: object) -> None:
        raise RuntimeError("the handler is broken")

    router.message.register(broken)
    dispatcher = Dispatcher()  # no error handler: the exception reaches the webhook
    dispatcher.include_router(router)
    running = await start_app(dispatcher=dispatcher)
    poison = emulator.send_text(token, "poison", chat_id=503)

    response = await running.post(poison)

    assert response.status == 200
    failure = next(r for r in caplog.records if "failed in a handler" in r.getMessage())
    assert failure.levelno == logging.ERROR
    assert str(poison["update_id"]) in failure.getMessage()
    assert failure.exc_info is not None and "the handler is broken" in str(failure.exc_info[1])


async def test_health_readiness_and_every_other_path(start_app: StartApp) -> None:
    running = await start_app()

    assert (await running.get("/healthz")).status == 200
    assert (await running.get("/readyz")).status == 200
    assert (await running.get("/")).status == 404
    assert (await running.post({}, path="/telegram")).status == 404
    assert (await running.get("/telegram/webhook/extra")).status == 404
    assert (await running.get(running.settings.webhook_path)).status == 405
    assert running.reached_dispatcher == []


async def test_client_leaving_mid_body_is_one_warning_not_an_error(
    start_app: StartApp, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_app()
    _, writer = await asyncio.open_connection("127.0.0.1", running.port)
    writer.write(
        f"POST {running.settings.webhook_path} HTTP/1.1\r\nHost: x\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\nContent-Length: 1000\r\n\r\n"
        '{"update_id": 1'.encode()
    )
    await writer.drain()
    writer.close()

    async with asyncio.timeout(5):
        while "body not received" not in caplog.text:
            await asyncio.sleep(0)  # the server notices the closed connection in this loop
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert running.reached_dispatcher == []
