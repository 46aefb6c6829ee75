"""WEBHOOK_IP_ALLOWLIST: only Telegram's networks, with the client address read safely."""

from __future__ import annotations

import pytest

from bot.settings import ConfigError, Settings
from bot.webhook.app import create_app
from sandbox import Emulator
from tests.helpers.webhook import StartApp

TELEGRAM = "149.154.167.220"  # in 149.154.160.0/20
TELEGRAM_2 = "91.108.6.1"  # in 91.108.4.0/22
STRANGER = "203.0.113.9"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({"X-Forwarded-For": TELEGRAM}, 200, id="telegram-via-nginx"),
        pytest.param({"X-Forwarded-For": f"{STRANGER}, {TELEGRAM}"}, 200, id="client-spoofed-left"),
        pytest.param({"X-Forwarded-For": f"{TELEGRAM}, {STRANGER}"}, 403, id="left-most-is-a-lie"),
        pytest.param({"X-Forwarded-For": f"{TELEGRAM}, 127.0.0.1"}, 200, id="skips-trusted-hops"),
        pytest.param({"X-Forwarded-For": "not-an-address"}, 403, id="garbage-forwarded-for"),
        pytest.param({"X-Real-IP": TELEGRAM_2}, 200, id="x-real-ip"),
        pytest.param({}, 403, id="the-proxy-itself"),
    ],
)
async def test_behind_a_trusted_proxy_the_right_most_untrusted_forwarded_address_decides(
    start_app: StartApp, emulator: Emulator, token: str, headers: dict[str, str], status: int
) -> None:
    # The test client connects from 127.0.0.1, a trusted proxy by default (nginx).
    running = await start_app(webhook_ip_allowlist=True)

    response = await running.post(emulator.send_text(token, "hi"), headers=headers)

    assert response.status == status
    assert len(running.reached_dispatcher) == (1 if status == 200 else 0)


async def test_forwarded_headers_from_an_untrusted_peer_are_ignored(
    start_app: StartApp, emulator: Emulator, token: str
) -> None:
    running = await start_app(webhook_ip_allowlist=True, trusted_proxies=("10.0.0.0/8",))

    forwarded = await running.post(
        emulator.send_text(token, "hi"),
        headers={"X-Forwarded-For": TELEGRAM, "X-Real-IP": TELEGRAM},
    )

    assert forwarded.status == 403
    assert running.reached_dispatcher == []


async def test_allowlist_off_accepts_any_address(
    start_app: StartApp, emulator: Emulator, token: str
) -> None:
    running = await start_app()
    response = await running.post(
        emulator.send_text(token, "hi"), headers={"X-Forwarded-For": STRANGER}
    )
    assert response.status == 200


async def test_allowlist_is_checked_before_the_secret_and_logged_with_the_address(
    start_app: StartApp, emulator: Emulator, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_app(webhook_ip_allowlist=True)
    response = await running.post(
        emulator.send_text(token, "hi"), secret=None, headers={"X-Forwarded-For": STRANGER}
    )
    assert response.status == 403
    assert f"not from Telegram's networks (client {STRANGER})" in caplog.text


def test_invalid_trusted_proxy_is_a_configuration_error(settings: Settings) -> None:
    bad = settings.model_copy(update={"trusted_proxies": ("127.0.0.1", "nginx.local")})
    with pytest.raises(ConfigError, match=r"nginx\.local"):
        create_app(bad)
