"""LOG_FORMAT: text stays the default; json gives one parseable object per line with the
update's ids; both redact the token, the webhook secret, a section's secrets (a password in a
connection URL) and Sentry's key."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.logs import setup_logging, update_ids
from bot.settings import Settings
from tests.helpers.constants import SECRET, TOKEN, TOKEN_SECRET_PART

PASSWORD = 'p"ss\\word'  # JSON escapes both characters: the escaped form is redacted too
SENTRY_KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def stderr(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """What the bot's logging writes to stderr; the root logger is restored afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield lambda: capsys.readouterr().err
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


class SettingsWithPassword(Settings):
    """Settings with a section that has a secret of its own, as a connection's password is."""

    def section_secrets(self) -> list[str]:
        return [*super().section_secrets(), PASSWORD]


def settings(tmp_path: Path, **values: str) -> Settings:
    return SettingsWithPassword(
        bot_token=SecretStr(TOKEN),
        webhook_secret=SecretStr(SECRET),
        sentry_dsn=SecretStr(f"https://{SENTRY_KEY}@o1.ingest.sentry.io/2"),
        lock_dir=tmp_path,
        **values,
    )


def log_everything_secret() -> None:
    logger = logging.getLogger("bot.test")
    with update_ids(4242, 77):
        logger.warning("token %s secret %s password %s", TOKEN, SECRET, PASSWORD)
        try:
            raise RuntimeError(f"https://api.telegram.org/bot{TOKEN}/getMe failed ({SENTRY_KEY})")
        except RuntimeError:
            logger.exception("call failed")
    logger.info("after the update")


def assert_no_secret(text: str) -> None:
    for secret in (TOKEN_SECRET_PART, SECRET, 'p\\"ss', "ss\\\\word", PASSWORD, SENTRY_KEY):
        assert secret not in text


def test_json_logs_are_one_object_per_line_with_update_ids_and_no_secret(
    tmp_path: Path, stderr: Callable[[], str]
) -> None:
    setup_logging(settings(tmp_path, log_format="json"))
    log_everything_secret()

    text = stderr()
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["message"].split(" ")[0] for r in records] == ["token", "call", "after"]
    warning, failure, after = records
    assert {"time", "level", "logger", "message"} <= set(warning)
    assert (warning["level"], warning["logger"]) == ("WARNING", "bot.test")
    assert (warning["update_id"], warning["chat_id"]) == (4242, 77)
    assert "RuntimeError" in failure["exception"] and failure["update_id"] == 4242
    assert "update_id" not in after
    assert "123456789:***" in warning["message"] and "[secret]" in warning["message"]
    assert_no_secret(text)


def test_text_logs_stay_the_default_and_are_redacted_alike(
    tmp_path: Path, stderr: Callable[[], str]
) -> None:
    setup_logging(settings(tmp_path))
    log_everything_secret()

    text = stderr()
    assert text.splitlines()[0].endswith(
        "WARNING bot.test: token 123456789:*** secret [secret] password [secret]"
    )
    assert "Traceback" in text
    assert_no_secret(text)
