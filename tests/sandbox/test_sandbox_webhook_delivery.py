"""Webhook delivery: secret header, per-chat order, max_connections, retries, replies."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from aiogram import Dispatcher, F
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from sandbox import Emulator
from tests.helpers.emulator import WebhookReceiver, hold, make_bot

JSON = dict[str, Any]


async def test_updates_are_posted_with_the_secret_and_confirmed_by_2xx(
    tg: Emulator, receiver: WebhookReceiver, token: str
) -> None:
    tg.set_webhook_directly(token, receiver.url, secret_token="s3cret-token")
    update = tg.send_text(token, "hello")
    [received] = await receiver.wait_received(1)
    assert received.update == update
    assert received.headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret-token"
    assert received.headers["Content-Type"] == "application/json"
    [delivery] = await tg.wait_deliveries(token, 1)
    assert (delivery.update_id, delivery.status, delivery.acknowledged) == (
        update["update_id"],
        200,
        True,
    )
    assert tg.webhook(token).pending_update_count == 0
    assert tg.webhook(token).last_error_message is None


async def test_no_secret_header_without_a_secret(
    tg: Emulator, receiver: WebhookReceiver, token: str
) -> None:
    tg.set_webhook_directly(token, receiver.url)
    tg.send_text(token, "hello")
    [received] = await receiver.wait_received(1)
    assert "X-Telegram-Bot-Api-Secret-Token" not in received.headers


async def test_one_chat_is_delivered_in_order_one_at_a_time_while_chats_run_in_parallel(
    tg: Emulator, receiver: WebhookReceiver, token: str
) -> None:
    gate = asyncio.Event()

    async def slow_for_chat_1(request: web.Request, update: JSON) -> web.StreamResponse:
        if update["message"]["chat"]["id"] == 1:
            await hold(gate)
        return web.json_response({})

    receiver.answer = slow_for_chat_1
    tg.set_webhook_directly(token, receiver.url, max_connections=10)
    first = tg.send_text(token, "1a", chat_id=1)["update_id"]
    second = tg.send_text(token, "1b", chat_id=1)["update_id"]
    others = [tg.send_text(token, f"chat {c}", chat_id=c)["update_id"] for c in (2, 3)]
    await receiver.wait_received(3)
    # Chats 2 and 3 got through while chat 1's first update is still being handled...
    assert sorted(receiver.update_ids()) == sorted([first, *others])
    await tg.wait_deliveries(token, 2)
    assert second not in receiver.update_ids()  # ...and chat 1's second waits its turn.
    gate.set()
    await receiver.wait_received(4)
    chat_1 = [i for i in receiver.update_ids() if i in (first, second)]
    assert chat_1 == [first, second]


async def test_at_most_max_connections_requests_are_in_flight(
    tg: Emulator, receiver: WebhookReceiver, token: str
) -> None:
    gate = asyncio.Event()

    async def held(request: web.Request, update: JSON) -> web.StreamResponse:
        await hold(gate)
        return web.json_response({})

    receiver.answer = held
    tg.set_webhook_directly(token, receiver.url, max_connections=2)
    for chat in range(1, 6):
        tg.send_text(token, "hi", chat_id=chat)
    await receiver.wait_received(2)
    assert receiver.in_flight == 2
    assert len([d for d in tg.deliveries(token) if d.finished is None]) == 2
    gate.set()
    await receiver.wait_received(5)
    await tg.wait_deliveries(token, 5)
    assert receiver.max_in_flight == 2


async def test_a_500_is_recorded_and_retried_at_once_then_after_the_first_delay(
    tg: Emulator, receiver: WebhookReceiver, token: str
) -> None:
    async def fail_twice(request: web.Request, update: JSON) -> web.StreamResponse:
        if len(receiver.received) <= 2:
            return web.Response(status=500)
        return web.json_response({})

    receiver.answer = fail_twice
    tg.set_webhook_directly(token, receiver.url)
    update = tg.send_text(token, "retry me")
    deliveries = await tg.wait_deliveries(token, 3)
    assert [d.status for d in deliveries] == [500, 500, 200]
    assert [d.update_id for d in deliveries] == [update["update_id"]] * 3
    first, second, third = deliveries
    assert first.error == "Wrong response from the webhook: 500 Internal Server Error"
    assert first.finished is not None and second.finished is not None
    assert second.started - first.finished < 0.15  # the first retry goes at once
    assert third.started - second.finished >= 0.2 * 0.9  # then retry_first_delay (0.2 s)
    webhook = tg.webhook(token)
    assert (
        webhook.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    )
    assert webhook.last_error_date is not None and webhook.pending_update_count == 0


async def test_a_401_is_worded_like_telegram(
    tg: Emulator, receiver: WebhookReceiver, token: str
) -> None:
    async def unauthorized(request: web.Request, update: JSON) -> web.StreamResponse:
        return web.Response(status=401, text="Unauthorized")

    receiver.answer = unauthorized
    tg.set_webhook_directly(token, receiver.url)
    tg.send_text(token, "x")
    await tg.wait_deliveries(token, 2)
    assert (
        tg.webhook(token).last_error_message == "Wrong response from the webhook: 401 Unauthorized"
    )
    assert tg.webhook(token).pending_update_count == 1  # not acknowledged, kept for retries


async def test_a_closed_connection_is_retried(
    tg: Emulator, receiver: WebhookReceiver, token: str
) -> None:
    async def hang_up_once(request: web.Request, update: JSON) -> web.StreamResponse:
        if len(receiver.received) == 1:
            assert request.transport is not None
            request.transport.abort()
        return web.json_response({})

    receiver.answer = hang_up_once
    tg.set_webhook_directly(token, receiver.url)
    tg.send_text(token, "x")
    first, second = await tg.wait_deliveries(token, 2)
    assert (first.status, first.error, first.acknowledged) == (
        None,
        "Webhook connection closed",
        False,
    )
    assert (second.status, second.acknowledged) == (200, True)
    assert tg.webhook(token).last_error_message == "Webhook connection closed"


async def test_a_refused_connection_is_recorded(tg: Emulator, token: str) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    tg.set_webhook_directly(token, f"http://127.0.0.1:{port}/hook")
    tg.send_text(token, "x")
    await tg.wait_deliveries(token, 1)
    assert tg.webhook(token).last_error_message == "Connection refused"


async def test_no_answer_within_the_timeout_is_read_timeout_expired(
    receiver: WebhookReceiver, token: str
) -> None:
    gate = asyncio.Event()

    async def never(request: web.Request, update: JSON) -> web.StreamResponse:
        await hold(gate)
        return web.json_response({})

    receiver.answer = never
    async with Emulator(webhook_timeout=0.3, retry_first_delay=5) as tg:
        tg.set_webhook_directly(token, receiver.url)
        tg.send_text(token, "x")
        [first, *_] = await tg.wait_deliveries(token, 1)
        assert first.error == "Read timeout expired"
        assert tg.webhook(token).last_error_message == "Read timeout expired"
        gate.set()


async def test_retry_after_from_the_webhook_is_honoured(
    tg: Emulator, receiver: WebhookReceiver, token: str
) -> None:
    async def busy_once(request: web.Request, update: JSON) -> web.StreamResponse:
        if len(receiver.received) == 1:
            return web.Response(status=429, headers={"Retry-After": "1"})
        return web.json_response({})

    receiver.answer = busy_once
    tg.set_webhook_directly(token, receiver.url)
    tg.send_text(token, "x")
    first, second = await tg.wait_deliveries(token, 2)
    assert first.retry_after == 1 and first.finished is not None
    # Without Retry-After the first retry would go at once.
    assert second.started - first.finished >= 0.95
    assert second.acknowledged


async def test_a_method_in_the_webhook_answer_is_executed(
    tg: Emulator, receiver: WebhookReceiver, token: str
) -> None:
    async def reply(request: web.Request, update: JSON) -> web.StreamResponse:
        chat_id = update["message"]["chat"]["id"]
        return web.json_response({"method": "sendMessage", "chat_id": chat_id, "text": "pong"})

    receiver.answer = reply
    tg.set_webhook_directly(token, receiver.url)
    tg.send_text(token, "ping", chat_id=100)
    [message] = await tg.wait_bot_messages(token, 100, 1)
    assert message["text"] == "pong"
    [sent] = tg.api_calls(token, "sendMessage")
    assert (sent.via, sent.ok) == ("webhook_reply", True)
    assert tg.deliveries(token)[0].reply_method == "sendMessage"


async def test_aiogram_reply_into_webhook_is_executed(tg: Emulator, token: str) -> None:
    # aiogram answers with multipart/form-data when a handler returns a method.
    dispatcher = Dispatcher()

    @dispatcher.message(F.text == "ping")
    async def ping(message: Message) -> Any:
        return message.answer("pong from aiogram")

    bot = make_bot(tg, token)
    app = web.Application()
    SimpleRequestHandler(
        dispatcher, bot, handle_in_background=False, secret_token="s3cret"
    ).register(app, path="/hook")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        port = runner.addresses[0][1]
        tg.set_webhook_directly(token, f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        tg.send_text(token, "ping", chat_id=100)
        [message] = await tg.wait_bot_messages(token, 100, 1)
        assert message["text"] == "pong from aiogram"
        assert tg.api_calls(token, "sendMessage")[0].via == "webhook_reply"
    finally:
        await runner.cleanup()
        await bot.session.close()


async def test_get_methods_in_a_webhook_answer_are_ignored(
    tg: Emulator, receiver: WebhookReceiver, token: str
) -> None:
    async def reply(request: web.Request, update: JSON) -> web.StreamResponse:
        return web.json_response({"method": "deleteWebhook"})

    receiver.answer = reply
    tg.set_webhook_directly(token, receiver.url)
    tg.send_text(token, "x")
    await tg.wait_deliveries(token, 1)
    assert tg.webhook(token).url == receiver.url
    assert tg.api_calls(token) == []


async def test_paused_delivery_holds_updates_until_resumed(
    tg: Emulator, receiver: WebhookReceiver, token: str
) -> None:
    tg.set_webhook_directly(token, receiver.url)
    tg.pause_delivery(token)
    tg.send_text(token, "held")
    assert tg.deliveries(token) == [] and tg.webhook(token).pending_update_count == 1
    tg.resume_delivery(token)
    await receiver.wait_received(1)
    await tg.wait_deliveries(token, 1)
    assert tg.webhook(token).pending_update_count == 0


async def test_changing_the_webhook_redelivers_unconfirmed_updates_to_the_new_url(
    tg: Emulator, token: str
) -> None:
    old, new = WebhookReceiver(), WebhookReceiver()
    await old.start()
    await new.start()
    gate = asyncio.Event()

    async def never(request: web.Request, update: JSON) -> web.StreamResponse:
        await hold(gate)
        return web.json_response({})

    old.answer = never
    try:
        tg.set_webhook_directly(token, old.url)
        update = tg.send_text(token, "x")
        await old.wait_received(1)
        tg.set_webhook_directly(token, new.url)
        [received] = await new.wait_received(1)
        assert received.update == update
        abandoned = tg.deliveries(token)[0]
        assert abandoned.url == old.url and not abandoned.acknowledged
    finally:
        gate.set()
        await old.stop()
        await new.stop()
