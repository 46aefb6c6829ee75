"""Configuration: where values come from, what is refused, and how problems are reported."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.exit_codes import ExitCode
from tests.support import BotProcess, write_env_file

TOKEN = "123456789:AAH-secret_part_of_the_token"
SECRET_PART = "AAH-secret_part_of_the_token"
CUSTOM_API = {"TELEGRAM_API_URL": "http://127.0.0.1:8081"}
WEBHOOK = {
    "BOT_MODE": "webhook",
    "WEBHOOK_BASE_URL": "https://bot.example.com",
    "WEBHOOK_SECRET": "s3cret_value-1",
}


def problems_of(root: Path, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(root=root, **kwargs)  # type: ignore[arg-type]
    return caught.value.problems


def one_problem(root: Path, environ: dict[str, str], needle: str) -> str:
    problems = problems_of(root, environ=environ)
    matching = [p for p in problems if needle in p]
    assert len(matching) == 1, problems
    return matching[0]


# -- where values come from ---------------------------------------------------------------


def test_flags_beat_the_environment_which_beats_the_file_which_beats_defaults(
    tmp_path: Path,
) -> None:
    write_env_file(
        tmp_path / ".env.local",
        {"BOT_TOKEN": TOKEN, "LOG_LEVEL": "WARNING", "SHUTDOWN_TIMEOUT": "5",
         "POLLING_CONFLICT_GRACE": "7"},
    )  # fmt: skip
    environ = {"LOG_LEVEL": "ERROR", "SHUTDOWN_TIMEOUT": "6"}
    settings = load_settings(overrides={"LOG_LEVEL": "DEBUG"}, environ=environ, root=tmp_path)

    assert settings.log_level == "DEBUG"  # flag
    assert settings.shutdown_timeout == 6.0  # environment
    assert settings.polling_conflict_grace == 7.0  # file
    assert settings.web_port == 8080  # default
    assert settings.env_file == tmp_path / ".env.local"


def test_app_env_selects_the_env_file_and_the_env_flag_beats_it(tmp_path: Path) -> None:
    write_env_file(tmp_path / ".env.local", {"BOT_TOKEN": TOKEN, "LOG_LEVEL": "DEBUG"})
    write_env_file(tmp_path / ".env.production", {"BOT_TOKEN": TOKEN, **CUSTOM_API, **WEBHOOK})

    production = load_settings(environ={"APP_ENV": "production"}, root=tmp_path)
    assert production.env_file == tmp_path / ".env.production"
    assert production.bot_mode == "webhook"  # the default mode in production

    local = load_settings(env="local", environ={"APP_ENV": "production"}, root=tmp_path)
    assert local.env_file == tmp_path / ".env.local"
    assert local.bot_mode == "polling"  # the default mode in local


def test_env_file_flag_names_any_file_and_a_missing_one_is_reported(tmp_path: Path) -> None:
    named = write_env_file(tmp_path / "elsewhere.env", {"BOT_TOKEN": TOKEN})
    assert load_settings(env_file=named, environ={}, root=tmp_path).env_file == named

    problems = problems_of(tmp_path, env_file=tmp_path / "missing.env", environ={})
    assert any("missing.env does not exist" in p for p in problems)


def test_no_env_file_is_fine_when_the_environment_has_everything(tmp_path: Path) -> None:
    settings = load_settings(environ={"BOT_TOKEN": TOKEN}, root=tmp_path)
    assert settings.env_file is None
    assert settings.bot_mode == "polling"


@pytest.mark.parametrize("env", ["local", "production"])
def test_a_missing_env_file_says_which_example_to_copy(tmp_path: Path, env: str) -> None:
    problems = problems_of(tmp_path, env=env, environ={})
    assert f"copy env/.env.{env}.example to .env.{env}" in problems[0]
    assert any("BOT_TOKEN is missing" in p and "@BotFather" in p for p in problems)


# -- what is refused ---------------------------------------------------------------------


def test_a_malformed_token_is_refused_and_shown_masked(tmp_path: Path) -> None:
    problem = one_problem(tmp_path, {"BOT_TOKEN": "123456789:has spaces!"}, "BOT_TOKEN")
    assert "malformed" in problem
    assert "123456789:***" in problem
    assert "has spaces" not in problem


@pytest.mark.parametrize(
    ("base_url", "needle"),
    [
        ("http://bot.example.com", "must use https"),
        ("https://bot.example.com:8080", "port 8080, which Telegram refuses"),
    ],
)
def test_webhook_url_must_be_https_on_a_telegram_port_with_the_official_api(
    tmp_path: Path, base_url: str, needle: str
) -> None:
    environ = {"BOT_TOKEN": TOKEN, **WEBHOOK, "WEBHOOK_BASE_URL": base_url}
    one_problem(tmp_path, environ, needle)

    # A local Bot API server or the sandbox delivers anywhere: the rule is lifted.
    settings = load_settings(environ={**environ, **CUSTOM_API}, root=tmp_path)
    assert settings.webhook_url == base_url + "/telegram/webhook"


@pytest.mark.parametrize("port", [443, 80, 88, 8443])
def test_the_four_telegram_webhook_ports_are_accepted(tmp_path: Path, port: int) -> None:
    environ = {"BOT_TOKEN": TOKEN, **WEBHOOK, "WEBHOOK_BASE_URL": f"https://b.example:{port}"}
    assert load_settings(environ=environ, root=tmp_path).bot_mode == "webhook"


def test_a_secret_with_forbidden_characters_is_refused_without_showing_it(
    tmp_path: Path,
) -> None:
    environ = {"BOT_TOKEN": TOKEN, **WEBHOOK, "WEBHOOK_SECRET": "my secret!/value"}
    problem = one_problem(tmp_path, environ, "WEBHOOK_SECRET")
    assert "A-Z a-z 0-9 _ -" in problem
    assert "my secret!/value" not in problem


def test_webhook_mode_requires_its_url_and_secret(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, environ={"BOT_TOKEN": TOKEN, "BOT_MODE": "webhook"})
    assert any("WEBHOOK_BASE_URL is required" in p for p in problems)
    assert any("WEBHOOK_SECRET is required" in p for p in problems)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("BOT_MODE", "pull"),
        ("APP_ENV", "staging"),
        ("WEB_PORT", "http"),
        ("WEB_PORT", "70000"),
        ("SHUTDOWN_TIMEOUT", "-1"),
        ("POLLING_CONFLICT_GRACE", "soon"),
        ("LOG_LEVEL", "LOUD"),
        ("DROP_PENDING_UPDATES", "maybe"),
        ("REDIS_URL", "http://localhost:6379"),
        ("TRUSTED_PROXIES", "127.0.0.1,nginx"),
        ("WEBHOOK_MAX_CONNECTIONS", "500"),
        ("WEBHOOK_IP_ALLOWLIST", "sometimes"),
    ],
)
def test_every_key_is_typed_and_a_bad_value_names_the_key(
    tmp_path: Path, key: str, value: str
) -> None:
    one_problem(tmp_path, {"BOT_TOKEN": TOKEN, key: value}, key)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    environ = {
        "BOT_TOKEN": "not-a-token",
        "BOT_MODE": "webhook",
        "WEBHOOK_BASE_URL": "http://bot.example.com:5000",
        "WEBHOOK_SECRET": "no spaces allowed",
        "WEB_PORT": "0",
    }
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=environ, root=tmp_path)
    report = caught.value.report()
    for needle in ("BOT_TOKEN", "must use https", "WEBHOOK_SECRET", "WEB_PORT"):
        assert needle in report
    assert f"{len(caught.value.problems)} problems" in report


def test_the_token_is_only_ever_shown_masked(tmp_path: Path) -> None:
    settings = load_settings(environ={"BOT_TOKEN": TOKEN}, root=tmp_path)
    assert settings.masked_token == "123456789:***"
    assert settings.bot_id == 123456789
    assert SECRET_PART not in repr(settings)
    assert SECRET_PART not in str(settings)


# -- what the person at the terminal sees ----------------------------------------------------


async def test_run_py_exits_2_listing_every_problem_with_the_token_masked(
    tmp_path: Path, start_bot: Callable[..., Awaitable[BotProcess]]
) -> None:
    values = {
        "BOT_TOKEN": "123456789:bad token",
        "BOT_MODE": "webhook",
        "WEBHOOK_BASE_URL": "http://bot.example.com",
    }
    process = await start_bot(values)
    assert await process.wait(timeout=20) == ExitCode.CONFIG
    output = process.output
    assert "Invalid configuration" in output
    for needle in ("BOT_TOKEN (123456789:***) is malformed", "must use https", "WEBHOOK_SECRET"):
        assert needle in output
    assert "bad token" not in output
    assert "Traceback" not in output
