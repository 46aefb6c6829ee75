"""setWebhook / deleteWebhook / getWebhookInfo: validation, descriptions and the 1/s limit."""

from __future__ import annotations

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter

from sandbox import Emulator
from tests.helpers.emulator import call, make_bot

HOOK = "http://127.0.0.1:9/hook"


async def test_descriptions_say_what_changed(
    tg: Emulator, http: aiohttp.ClientSession, token: str
) -> None:
    async def description(method: str, **params: object) -> str:
        status, body = await call(http, tg, token, method, **params)
        assert (status, body["ok"], body["result"]) == (200, True, True)
        return str(body["description"])

    assert await description("deleteWebhook") == "Webhook is already deleted"
    assert await description("setWebhook", url=HOOK, secret_token="s3cret") == "Webhook was set"
    assert (
        await description("setWebhook", url=HOOK, secret_token="s3cret") == "Webhook is already set"
    )
    assert await description("setWebhook", url=HOOK, secret_token="other") == "Webhook was set"
    assert await description("setWebhook", url="") == "Webhook was deleted"
    assert await description("deleteWebhook") == "Webhook is already deleted"


async def test_a_second_set_webhook_within_the_interval_is_429_retry_after_1(token: str) -> None:
    async with Emulator(webhook_change_interval=1.0) as tg, aiohttp.ClientSession() as http:
        bot = make_bot(tg, token)
        try:
            assert await bot.set_webhook(HOOK) is True
            with pytest.raises(TelegramRetryAfter) as limited:
                await bot.set_webhook(HOOK + "2")
            assert limited.value.retry_after == 1
            # Like the server, even a setWebhook that changes nothing counts.
            status, body = await call(http, tg, token, "setWebhook", url=HOOK)
            assert (status, body) == (
                429,
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                },
            )
            assert await bot.delete_webhook() is True  # deleting is never limited
            assert tg.webhook(token).url == ""
        finally:
            await bot.session.close()


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"url": HOOK, "secret_token": "x" * 257}, "Bad Request: secret token is too long"),
        (
            {"url": HOOK, "secret_token": "no spaces"},
            "Bad Request: secret token contains unallowed characters",
        ),
        (
            {"url": HOOK, "secret_token": "dots.no"},
            "Bad Request: secret token contains unallowed characters",
        ),
        ({"url": "ftp://example.com/hook"}, "Bad Request: invalid webhook URL specified"),
        ({"url": "http://:80/hook"}, "Bad Request: invalid webhook URL specified"),
        ({"url": "http://example.com:99999/hook"}, "Bad Request: invalid webhook URL specified"),
    ],
)
async def test_invalid_set_webhook_is_400(
    tg: Emulator,
    http: aiohttp.ClientSession,
    token: str,
    params: dict[str, object],
    description: str,
) -> None:
    status, body = await call(http, tg, token, "setWebhook", **params)
    assert (status, body) == (400, {"ok": False, "error_code": 400, "description": description})
    assert tg.webhook(token).url == ""


async def test_a_secret_of_256_allowed_characters_is_accepted(
    tg: Emulator, bot: Bot, token: str
) -> None:
    secret = ("Az09_-" * 50)[:256]
    assert await bot.set_webhook(HOOK, secret_token=secret) is True
    assert tg.webhook(token).secret_token == secret


async def test_http_and_any_port_are_accepted_unless_official_rules_are_on(token: str) -> None:
    async with (
        Emulator(official_webhook_rules=True, webhook_change_interval=0) as tg,
        aiohttp.ClientSession() as http,
    ):
        status, body = await call(http, tg, token, "setWebhook", url="http://example.com/hook")
        assert (
            body["description"]
            == "Bad Request: bad webhook: HTTPS url must be provided for webhook"
        )
        status, body = await call(http, tg, token, "setWebhook", url="https://example.com:8080/h")
        assert body["description"] == (
            "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
        )
        status, body = await call(http, tg, token, "setWebhook", url="https://example.com:8443/h")
        assert status == 200


@pytest.mark.parametrize(("given", "stored"), [(0, 1), (-5, 1), (7, 7), (1000, 100)])
async def test_max_connections_is_clamped_to_1_100(
    tg: Emulator, http: aiohttp.ClientSession, token: str, given: int, stored: int
) -> None:
    await call(http, tg, token, "setWebhook", url=HOOK, max_connections=given)
    _, body = await call(http, tg, token, "getWebhookInfo")
    assert body["result"]["max_connections"] == stored


async def test_allowed_updates_arrive_as_a_json_string_or_a_list(
    tg: Emulator, http: aiohttp.ClientSession, token: str
) -> None:
    url = f"{tg.base_url}/bot{token}/setWebhook"
    await http.post(url, data={"url": HOOK, "allowed_updates": '["message", "callback_query"]'})
    assert tg.webhook(token).allowed_updates == ["message", "callback_query"]
    await http.post(url, json={"url": HOOK + "2", "allowed_updates": ["edited_message"]})
    assert tg.webhook(token).allowed_updates == ["edited_message"]
    # Unparsable values are ignored, as the server ignores them.
    await http.post(url, data={"url": HOOK + "3", "allowed_updates": "not json"})
    assert tg.webhook(token).allowed_updates == ["edited_message"]


async def test_get_webhook_info_reports_pending_updates_and_settings(
    tg: Emulator, bot: Bot, token: str
) -> None:
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count, info.max_connections) == ("", 0, None)
    tg.pause_delivery(token)
    tg.send_text(token, "one")
    tg.send_text(token, "two")
    await bot.set_webhook(HOOK, max_connections=5, allowed_updates=["message"])
    info = await bot.get_webhook_info()
    assert info.url == HOOK and info.pending_update_count == 2
    assert (info.max_connections, info.allowed_updates, info.has_custom_certificate) == (
        5,
        ["message"],
        False,
    )
    assert info.last_error_date is None and info.last_error_message is None


async def test_drop_pending_updates_forgets_the_queue(tg: Emulator, bot: Bot, token: str) -> None:
    tg.send_text(token, "old")
    await bot.set_webhook(HOOK, drop_pending_updates=True)
    assert tg.webhook(token).pending_update_count == 0
