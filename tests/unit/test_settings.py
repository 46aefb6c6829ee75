"""Configuration: where values come from, what is refused, and how problems are reported."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT, ConfigError, env_names, load_settings, read_settings
from bot.settings.fields import find_project_root
from tests.helpers.constants import TOKEN, TOKEN_SECRET_PART, WEBHOOK
from tests.helpers.processes import ROOT, write_env_file

CUSTOM_API = {"TELEGRAM_API_URL": "http://127.0.0.1:8081"}


def problems_of(root: Path, values: dict[str, str] | None = None, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(overrides=values, root=root, environment=False, **kwargs)  # type: ignore[arg-type]
    return caught.value.problems


def one_problem(root: Path, values: dict[str, str], needle: str) -> str:
    problems = problems_of(root, values)
    matching = [p for p in problems if needle in p]
    assert len(matching) == 1, problems
    return matching[0]


# -- where values come from ---------------------------------------------------------------


def test_flags_beat_the_environment_which_beats_the_file_which_beats_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_env_file(
        tmp_path / ".env.local",
        {"BOT_TOKEN": TOKEN, "LOG_LEVEL": "WARNING", "SHUTDOWN_TIMEOUT": "5",
         "POLLING_CONFLICT_GRACE": "7"},
    )  # fmt: skip
    monkeypatch.setenv("LOG_LEVEL", "ERROR")
    monkeypatch.setenv("SHUTDOWN_TIMEOUT", "6")
    settings = load_settings(overrides={"LOG_LEVEL": "DEBUG"}, root=tmp_path)

    assert settings.log_level == "DEBUG"  # flag
    assert settings.shutdown_timeout == 6.0  # environment
    assert settings.polling_conflict_grace == 7.0  # file
    assert settings.web_port == 8080  # default
    assert settings.env_file == tmp_path / ".env.local"


def test_app_env_selects_the_env_file_and_the_env_flag_beats_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_env_file(tmp_path / ".env.local", {"BOT_TOKEN": TOKEN, "LOG_LEVEL": "DEBUG"})
    write_env_file(tmp_path / ".env.production", {"BOT_TOKEN": TOKEN, **CUSTOM_API, **WEBHOOK})
    monkeypatch.setenv("APP_ENV", "production")

    production = load_settings(root=tmp_path)
    assert production.env_file == tmp_path / ".env.production"
    assert production.bot_mode == "webhook"  # the default mode in production

    local = load_settings(env="local", root=tmp_path)
    assert local.env_file == tmp_path / ".env.local"
    assert local.bot_mode == "polling"  # the default mode in local


def test_env_file_flag_names_any_file_and_a_missing_one_is_reported(tmp_path: Path) -> None:
    named = write_env_file(tmp_path / "elsewhere.env", {"BOT_TOKEN": TOKEN})
    assert load_settings(env_file=named, root=tmp_path).env_file == named

    problems = problems_of(tmp_path, env_file=tmp_path / "missing.env")
    assert any("missing.env does not exist" in p for p in problems)


def test_no_env_file_is_fine_when_the_environment_has_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    settings = load_settings(root=tmp_path)
    assert settings.env_file is None
    assert settings.bot_mode == "polling"


@pytest.mark.parametrize("env", ["local", "production"])
def test_a_missing_env_file_says_which_example_to_copy(tmp_path: Path, env: str) -> None:
    problems = problems_of(tmp_path, env=env)
    assert f"copy {Path('env', f'.env.{env}.example')} to .env.{env}" in problems[0]
    assert any("BOT_TOKEN is missing" in p and "@BotFather" in p for p in problems)


def test_empty_and_blank_values_mean_not_set(tmp_path: Path) -> None:
    write_env_file(tmp_path / ".env.local", {"BOT_TOKEN": f"  {TOKEN}  ", "WEB_PORT": "  "})
    settings = load_settings(root=tmp_path, environment=False)
    assert settings.token == TOKEN
    assert settings.web_port == 8080


def test_choices_and_lists_are_read_as_people_write_them(tmp_path: Path) -> None:
    settings = load_settings(
        overrides={
            "BOT_TOKEN": TOKEN,
            "APP_ENV": "Production",
            **CUSTOM_API,
            **WEBHOOK,
            "BOT_MODE": "Webhook",
            "LOG_LEVEL": "debug",
            "TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8",
            "ADMIN_IDS": "42, 43",
        },
        root=tmp_path,
        environment=False,
    )
    assert (settings.app_env, settings.bot_mode, settings.log_level) == (
        "production",
        "webhook",
        "DEBUG",
    )
    assert settings.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    assert settings.admin_ids == (42, 43)


def test_relative_paths_are_under_the_project_root_whatever_the_working_folder(
    tmp_path: Path,
) -> None:
    values = {"BOT_TOKEN": TOKEN, "LOCK_DIR": "var/locks", "LOG_FILE": "logs/bot.log"}
    settings = load_settings(overrides=values, root=tmp_path, environment=False)
    assert settings.lock_dir == PROJECT_ROOT / "var" / "locks"
    assert settings.log_file == PROJECT_ROOT / "logs" / "bot.log"


def test_the_project_root_is_the_checkout_beside_the_bot_package(tmp_path: Path) -> None:
    # A checkout, an editable install, the Docker image's /app: run.py sits beside bot/.
    (tmp_path / "bot").mkdir()
    (tmp_path / "run.py").write_text("")
    elsewhere = tmp_path / "somewhere" / "else"
    assert find_project_root(tmp_path / "bot", elsewhere) == tmp_path


def test_with_bot_installed_into_site_packages_the_project_is_the_working_folder(
    tmp_path: Path,
) -> None:
    # `pip install '.[prod]'` (the deploy guide) copies bot/ into site-packages: the env files,
    # LOCK_DIR and LOG_FILE are then where the commands run (systemd's WorkingDirectory).
    site_packages = tmp_path / "venv" / "lib" / "site-packages"
    shutil.copytree(
        ROOT / "bot", site_packages / "bot", ignore=shutil.ignore_patterns("__pycache__")
    )
    project = tmp_path / "srv" / "bot"
    project.mkdir(parents=True)
    (project / ".env.local").write_text(f"BOT_TOKEN={TOKEN}\nLOCK_DIR=var/locks\n")
    show = (
        "import bot; from bot.settings import PROJECT_ROOT, load_settings; "
        "print(bot.__file__); print(PROJECT_ROOT); print(load_settings().lock_dir)"
    )
    environment = {k: v for k, v in os.environ.items() if k not in env_names()}
    environment["PYTHONPATH"] = str(site_packages)
    shown = subprocess.run(
        [sys.executable, "-c", show],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()

    assert Path(shown[0]).is_relative_to(site_packages)
    assert Path(shown[1]) == project.resolve()
    assert Path(shown[2]) == project.resolve() / "var" / "locks"


# -- files people save on Windows -----------------------------------------------------------


def test_a_utf8_bom_before_the_first_key_is_read_as_nothing(tmp_path: Path) -> None:
    (tmp_path / ".env.local").write_bytes(b"\xef\xbb\xbfBOT_TOKEN=" + TOKEN.encode() + b"\r\n")
    assert load_settings(root=tmp_path, environment=False).token == TOKEN


def test_a_utf16_env_file_is_named_with_how_to_save_it(tmp_path: Path) -> None:
    (tmp_path / ".env.local").write_bytes(f"BOT_TOKEN={TOKEN}\n".encode("utf-16"))
    problems = problems_of(tmp_path)
    assert any("UTF-16" in p and "save it as UTF-8" in p for p in problems), problems


def test_an_env_file_saved_with_a_txt_ending_is_named(tmp_path: Path) -> None:
    write_env_file(tmp_path / ".env.local.txt", {"BOT_TOKEN": TOKEN})
    problems = problems_of(tmp_path)
    assert ".env.local.txt is there: rename it to .env.local" in problems[0]


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
    values = {"BOT_TOKEN": TOKEN, **WEBHOOK, "WEBHOOK_BASE_URL": base_url}
    one_problem(tmp_path, values, needle)

    # A local Bot API server or the sandbox delivers anywhere: the rule is lifted.
    settings = load_settings(overrides={**values, **CUSTOM_API}, root=tmp_path)
    assert settings.webhook_url == base_url + "/telegram/webhook"


@pytest.mark.parametrize("port", [443, 80, 88, 8443])
def test_the_four_telegram_webhook_ports_are_accepted(tmp_path: Path, port: int) -> None:
    values = {"BOT_TOKEN": TOKEN, **WEBHOOK, "WEBHOOK_BASE_URL": f"https://b.example:{port}"}
    assert load_settings(overrides=values, root=tmp_path).bot_mode == "webhook"


def test_a_secret_with_forbidden_characters_is_refused_without_showing_it(
    tmp_path: Path,
) -> None:
    values = {"BOT_TOKEN": TOKEN, **WEBHOOK, "WEBHOOK_SECRET": "my secret!/value"}
    problem = one_problem(tmp_path, values, "WEBHOOK_SECRET")
    assert "A-Z a-z 0-9 _ -" in problem
    assert "my secret!/value" not in problem


def test_webhook_mode_requires_its_url_and_secret(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, {"BOT_TOKEN": TOKEN, "BOT_MODE": "webhook"})
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
        ("TRUSTED_PROXIES", "127.0.0.1,nginx"),
        ("WEBHOOK_MAX_CONNECTIONS", "500"),
        ("WEBHOOK_IP_ALLOWLIST", "sometimes"),
        ("ADMIN_IDS", "42,me"),
        ("HANDLERS_MODULE", "my handlers"),
    ],
)
def test_every_key_is_typed_and_a_bad_value_names_the_key(
    tmp_path: Path, key: str, value: str
) -> None:
    one_problem(tmp_path, {"BOT_TOKEN": TOKEN, key: value}, key)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    values = {
        "BOT_TOKEN": "not-a-token",
        "BOT_MODE": "webhook",
        "WEBHOOK_BASE_URL": "http://bot.example.com:5000",
        "WEBHOOK_SECRET": "no spaces allowed",
        "WEB_PORT": "0",
    }
    with pytest.raises(ConfigError) as caught:
        load_settings(overrides=values, root=tmp_path, environment=False)
    report = caught.value.report()
    for needle in ("BOT_TOKEN", "must use https", "WEBHOOK_SECRET", "WEB_PORT"):
        assert needle in report
    assert f"{len(caught.value.problems)} problems" in report


def test_a_bad_value_is_reported_once_not_again_by_the_rules_that_need_it(
    tmp_path: Path,
) -> None:
    values = {"BOT_TOKEN": TOKEN, "BOT_MODE": "webhook", "WEBHOOK_BASE_URL": "not a url"}
    problems = problems_of(tmp_path, {**values, "WEBHOOK_SECRET": "s" * 32})
    assert len([p for p in problems if "WEBHOOK_BASE_URL" in p]) == 1, problems


def test_a_configuration_that_does_not_load_still_reads_what_it_can(tmp_path: Path) -> None:
    values = {"BOT_TOKEN": TOKEN, "APP_ENV": "production", "WEB_PORT": "http", **WEBHOOK}
    read = read_settings(overrides=values, root=tmp_path, environment=False)
    assert read.settings is None
    assert read.invalid == {"web_port"}
    assert read.partial.web_port == 8080  # the default stands in for the bad value
    assert read.partial.bot_mode == "webhook"  # production's default mode, not polling's
    assert read.partial.token == TOKEN


def test_secrets_are_only_ever_shown_masked(tmp_path: Path) -> None:
    values = {"BOT_TOKEN": TOKEN, **WEBHOOK}
    settings = load_settings(overrides={**values, **CUSTOM_API}, root=tmp_path)
    assert settings.masked_token == "123456789:***"
    assert settings.bot_id == 123456789
    for shown in (repr(settings), str(settings)):
        assert TOKEN_SECRET_PART not in shown
        assert WEBHOOK["WEBHOOK_SECRET"] not in shown
    assert set(settings.secrets()) == {TOKEN, WEBHOOK["WEBHOOK_SECRET"]}


def test_an_installed_sentry_sdk_of_another_major_is_refused_with_the_pip_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # sentry-sdk 3.0 removed init options that 2.x code passed: a bot that met the other
    # major at start died with sentry-sdk's own TypeError. Now the settings say what to install.
    packages = tmp_path / "site"
    metadata = packages / "sentry_sdk-2.76.0.dist-info"
    metadata.mkdir(parents=True)
    (metadata / "METADATA").write_text("Metadata-Version: 2.1\nName: sentry-sdk\nVersion: 2.76.0\n")
    monkeypatch.syspath_prepend(str(packages))
    problem = one_problem(
        tmp_path,
        {"BOT_TOKEN": TOKEN, "SENTRY_DSN": "https://0123abcd@o1.ingest.sentry.io/2"},
        "SENTRY_DSN",
    )
    assert "sentry-sdk 2.76.0 is installed" in problem
    assert 'python -m pip install "sentry-sdk>=3,<4"' in problem
    assert "0123abcd" not in problem
