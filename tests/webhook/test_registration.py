"""ensure_webhook(): setWebhook once per change, never a dropped update unless asked."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from pydantic import SecretStr

from bot.exit_codes import ExitCode
from bot.factory import create_bot, used_update_types
from bot.runtime.outgoing.retry import RetryPolicy
from bot.settings import Settings
from bot.webhook.registration import ensure_webhook, register_for_deploy, state_path
from sandbox import Emulator
from tests.helpers.constants import SECRET


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[Bot]:
    instance = create_bot(settings)
    yield instance
    await instance.session.close()


@pytest.fixture
def allowed(settings: Settings) -> list[str]:
    return used_update_types(settings)


def set_calls(tg: Emulator, token: str) -> list[object]:
    return [call for call in tg.api_calls(token, "setWebhook") if call.ok]


async def test_first_deploy_sets_the_webhook_and_an_unchanged_one_does_not_set_it_again(
    bot: Bot, settings: Settings, allowed: list[str], emulator: Emulator, token: str
) -> None:
    first = await ensure_webhook(bot, settings, allowed)
    second = await ensure_webhook(bot, settings, allowed)

    assert first.changed and not second.changed
    assert len(set_calls(emulator, token)) == 1
    webhook = emulator.webhook(token)
    assert webhook.url == settings.webhook_url
    assert webhook.secret_token == SECRET
    assert sorted(webhook.allowed_updates or []) == sorted(allowed)
    assert webhook.max_connections == settings.webhook_max_connections
    assert second.info.url == settings.webhook_url


@pytest.mark.parametrize(
    "change",
    [
        {"webhook_base_url": "http://127.0.0.1:10"},
        {"webhook_secret": SecretStr("another-secret")},
        {"webhook_max_connections": 7},
    ],
    ids=["url", "secret", "max-connections"],
)
async def test_a_changed_setting_sets_the_webhook_again(
    bot: Bot,
    settings: Settings,
    allowed: list[str],
    emulator: Emulator,
    token: str,
    change: dict[str, object],
) -> None:
    await ensure_webhook(bot, settings, allowed)
    again = await ensure_webhook(bot, settings.model_copy(update=change), allowed)
    assert again.changed
    assert len(set_calls(emulator, token)) == 2


async def test_changed_allowed_updates_set_the_webhook_again(
    bot: Bot, settings: Settings, allowed: list[str], emulator: Emulator, token: str
) -> None:
    emulator.set_webhook_directly(
        token, settings.webhook_url or "", secret_token=SECRET, allowed_updates=["message"]
    )
    registered = await ensure_webhook(bot, settings, allowed)
    assert registered.changed and "allowed updates" in registered.description


async def test_the_state_file_records_no_secret_and_its_loss_costs_one_set(
    bot: Bot, settings: Settings, allowed: list[str], emulator: Emulator, token: str
) -> None:
    await ensure_webhook(bot, settings, allowed)
    recorded = state_path(settings).read_text()
    assert SECRET not in recorded and settings.bot_token.get_secret_value() not in recorded
    assert json.loads(recorded)["url"] == settings.webhook_url

    state_path(settings).unlink()
    emulator.set_webhook_directly(
        token, settings.webhook_url or "", secret_token=SECRET, allowed_updates=allowed
    )  # exactly as it was
    again = await ensure_webhook(bot, settings, allowed)
    assert again.changed and "not recorded" in again.description


async def test_pending_updates_are_kept_unless_drop_pending_updates(
    bot: Bot, settings: Settings, allowed: list[str], emulator: Emulator, token: str
) -> None:
    emulator.pause_delivery(token)
    emulator.send_text(token, "waiting")
    await ensure_webhook(bot, settings, allowed)
    assert len(emulator.pending_updates(token)) == 1

    dropped = settings.model_copy(update={"drop_pending_updates": True})
    await ensure_webhook(bot, dropped, allowed)
    assert emulator.pending_updates(token) == []


async def test_429_retry_after_is_waited_out(
    bot: Bot,
    settings: Settings,
    allowed: list[str],
    emulator: Emulator,
    token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator.inject_fault(token, "setWebhook", status=429, retry_after=1)

    registered = await ensure_webhook(bot, settings, allowed)

    assert registered.changed
    assert [call.error_code for call in emulator.api_calls(token, "setWebhook")] == [429, None]
    assert "Telegram asks to wait 1 s (429 Too Many Requests)" in caplog.text


async def test_429_retries_are_bounded(
    bot: Bot,
    settings: Settings,
    allowed: list[str],
    emulator: Emulator,
    token: str,
) -> None:
    emulator.inject_fault(token, "setWebhook", status=429, retry_after=1, count=5)

    with pytest.raises(TelegramRetryAfter):
        await ensure_webhook(bot, settings, allowed, retry=RetryPolicy(attempts=2))
    assert len(emulator.api_calls(token, "setWebhook")) == 2


async def test_deploy_stops_with_exit_2_when_telegram_rejects_the_token(
    bot: Bot, settings: Settings, allowed: list[str], emulator: Emulator, token: str
) -> None:
    emulator.inject_fault(token, "getWebhookInfo", status=401, description="Unauthorized")
    assert await register_for_deploy(bot, settings, allowed) == ExitCode.CONFIG


async def test_deploy_serves_anyway_when_telegram_is_unreachable(
    settings: Settings, allowed: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = settings.model_copy(update={"telegram_api_url": "http://127.0.0.1:9"})
    async with _bot(unreachable) as bot:
        assert await register_for_deploy(bot, unreachable, allowed) == ExitCode.OK
    assert "serving anyway" in caplog.text


class _bot:
    def __init__(self, settings: Settings) -> None:
        self.bot = create_bot(settings)

    async def __aenter__(self) -> Bot:
        return self.bot

    async def __aexit__(self, *exc: object) -> None:
        await self.bot.session.close()
