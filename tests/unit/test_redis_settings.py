"""The Redis section (REDIS_URL): a bad URL names the key with its password masked, the
password is one of the secrets never shown, and the sandbox unsets it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import ConfigError, Settings, load_settings
from tests.helpers.constants import TOKEN, WEBHOOK

CUSTOM_API = {"TELEGRAM_API_URL": "http://127.0.0.1:8081"}


def test_a_url_that_is_not_redis_is_refused_with_its_password_masked(tmp_path: Path) -> None:
    values = {"BOT_TOKEN": TOKEN, "REDIS_URL": "http://:hunter2@x"}
    with pytest.raises(ConfigError) as caught:
        load_settings(overrides=values, root=tmp_path, environment=False)
    [problem] = [p for p in caught.value.problems if "REDIS_URL" in p]
    assert "hunter2" not in problem and ":***@" in problem
    assert "redis://host:6379/0" in problem


def test_the_redis_password_is_a_secret_as_written_and_as_sent(tmp_path: Path) -> None:
    values = {"BOT_TOKEN": TOKEN, "REDIS_URL": "redis://:hunt%21er2@127.0.0.1:6379/0", **WEBHOOK}
    settings = load_settings(overrides={**values, **CUSTOM_API}, root=tmp_path)
    for shown in (repr(settings), str(settings)):
        assert "hunt" not in shown
    assert set(settings.secrets()) == {TOKEN, WEBHOOK["WEBHOOK_SECRET"], "hunt%21er2", "hunt!er2"}
    assert settings.shares_state()


def test_without_redis_url_nothing_is_shared_and_the_sandbox_keeps_it_unset() -> None:
    assert not Settings(bot_token=TOKEN).shares_state()
    assert Settings.unshared() == {"redis_url": None}
