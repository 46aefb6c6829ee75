"""The shipped deploy files: rendered, checked by their own tools, and read where no tool runs.

deploy/render.py fills them in; `nginx -t` checks the site, `systemd-analyze verify` the unit.
The Dockerfile and compose file are in test_docker_files.py.
"""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from setuptools import find_packages

from bot.settings import Settings, env_names
from tests.helpers.constants import SERVICE, SERVICE_ID
from tests.helpers.processes import ROOT
from tests.helpers.stack import DEPLOY, Nginx, Program, gunicorn, gunicorn_env, render


def run_render(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEPLOY / "render.py"), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_render_fills_production_defaults_and_refuses_missing_or_unknown_values() -> None:
    site = render(DEPLOY / "nginx" / "bot.conf", SERVER_NAME="bot.example.com")
    assert "{{" not in site
    assert "ssl_certificate /etc/letsencrypt/live/bot.example.com/fullchain.pem;" in site
    assert f"server unix:/run/{SERVICE}/gunicorn.sock;" in site
    assert "location = /telegram/webhook {" in site

    missing = run_render(str(DEPLOY / "nginx" / "bot.conf"))
    assert missing.returncode == 2 and "SERVER_NAME" in missing.stderr and missing.stdout == ""
    unknown = run_render(str(DEPLOY / "nginx" / "bot.conf"), "SERVER_NAME=x", "SERVRE=y")
    assert unknown.returncode == 2 and "SERVRE" in unknown.stderr


def test_shipped_nginx_site_passes_nginx_t_and_keeps_the_secret_header_out_of_logs(
    tmp_path: Path,
) -> None:
    from tests.helpers.stack import make_certificate

    cert_dir, _ = make_certificate(tmp_path / "certs")
    nginx = Nginx(tmp_path / "nginx", "127.0.0.1:8080", "/telegram/webhook", cert_dir)

    checked = nginx.check()

    assert checked.returncode == 0, checked.stderr
    site = (DEPLOY / "nginx" / "bot.conf").read_text().lower()
    assert "$http_x_telegram_bot_api_secret_token" not in site
    # Its access log uses the header-free format, both named after the project ({{NAME_ID}}).
    assert (
        "log_format {{name_id}}" in site
        and "access_log {{log_dir=/var/log/nginx}}/{{name}}.access.log {{name_id}};" in site
    )


def test_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package `systemd`)")
    # The unit rendered for a project in tmp_path, with the programs it names really there.
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "gunicorn").symlink_to(shutil.which("gunicorn") or sys.executable)
    (tmp_path / ".venv" / "bin" / "python").symlink_to(sys.executable)  # ExecReload's migration
    (tmp_path / ".env.production").write_text("")
    unit = tmp_path / f"{SERVICE}.service"
    unit.write_text(render(DEPLOY / "systemd" / "bot.service", APP_DIR=str(tmp_path)))

    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    assert unit.name not in result.stderr, result.stderr  # no warning about our unit
    text = unit.read_text()
    for line in (
        "Restart=on-failure",
        "RestartPreventExitStatus=2 3 4 5",
        f"User={SERVICE_ID}",
        f"EnvironmentFile={tmp_path}/.env.production",
        "NoNewPrivileges=true",
        "ProtectSystem=strict",
        "ProtectHome=true",
        "PrivateTmp=true",
        "KillMode=mixed",
        "ExecReload=/bin/kill -s HUP $MAINPID",
    ):
        assert line in text.splitlines(), line
    assert "bot.webhook.app:gunicorn_app" in text


def load_gunicorn_conf(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, object]:
    for key in ("GUNICORN_BIND", "WEB_CONCURRENCY", "GUNICORN_GRACEFUL_TIMEOUT", *env_names()):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))


def test_gunicorn_conf_reads_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_gunicorn_conf(monkeypatch)
    assert defaults["worker_class"] == "aiohttp.GunicornUVLoopWebWorker"  # uvloop is installed
    assert defaults["bind"] == ["127.0.0.1:8080"]
    # FSM state in memory is per worker: one worker unless the workers share it.
    assert defaults["workers"] == 1
    # copier: if redis
    with_redis = load_gunicorn_conf(monkeypatch, REDIS_URL="redis://127.0.0.1:6379/0")
    assert with_redis["workers"] == len(os.sched_getaffinity(0))
    # copier: endif
    assert defaults["chdir"] == str(ROOT)
    # SHUTDOWN_TIMEOUT's default, and 15 s for the session to close.
    assert defaults["graceful_timeout"] == Settings.model_fields["shutdown_timeout"].default + 15
    assert "%{" not in str(defaults["access_log_format"])  # no request header is logged

    configured = load_gunicorn_conf(
        monkeypatch,
        GUNICORN_BIND=f"unix:/run/{SERVICE}/gunicorn.sock",
        WEB_CONCURRENCY="3",
        SHUTDOWN_TIMEOUT="50",
    )
    assert configured["bind"] == [f"unix:/run/{SERVICE}/gunicorn.sock"]
    assert configured["workers"] == 3
    assert configured["graceful_timeout"] > 50
    several = load_gunicorn_conf(monkeypatch, GUNICORN_BIND="unix:/tmp/a.sock, 127.0.0.1:9108")
    assert several["bind"] == ["unix:/tmp/a.sock", "127.0.0.1:9108"]  # a port for Prometheus


def test_gunicorn_empties_the_metrics_folder_on_start_and_removes_its_own_on_exit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # What on_starting does after the registration, in the master, before any worker starts.
    given = tmp_path / "metrics"
    given.mkdir()
    (given / "counter_4242.db").write_bytes(b"stale counts of an earlier run")
    conf = load_gunicorn_conf(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(given))
    conf["_empty_metrics_dir"]()  # type: ignore[operator]
    assert list(given.iterdir()) == []
    conf["on_exit"](None)  # type: ignore[operator]
    assert given.is_dir()  # the operator's folder stays

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    conf = load_gunicorn_conf(monkeypatch)
    conf["_empty_metrics_dir"]()  # type: ignore[operator]
    own = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])  # set for the workers it forks
    assert own.is_dir() and own.name.startswith("telegram-bot-metrics-")
    conf["on_exit"](None)  # type: ignore[operator]
    assert not own.exists()


async def test_gunicorn_refuses_invalid_configuration_with_exit_2_before_any_worker(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    master: Program = gunicorn(
        gunicorn_env({"APP_ENV": "production", "ENV_FILE": str(env_file), "BOT_TOKEN": "1:x"})
    )
    await master.start()
    try:
        assert await master.wait(timeout=30) == 2
    finally:
        await master.stop()
    assert "WEBHOOK_SECRET is required" in master.output
    assert "Booting worker" not in master.output


async def test_gunicorn_refuses_a_graceful_timeout_shorter_than_the_drain(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    values = {
        "APP_ENV": "production",
        "ENV_FILE": str(env_file),
        "BOT_TOKEN": "1:x",
        "WEBHOOK_BASE_URL": "https://bot.example.com",
        "WEBHOOK_SECRET": "s" * 32,
        "GUNICORN_GRACEFUL_TIMEOUT": "10",
        "SHUTDOWN_TIMEOUT": "30",
    }
    master = gunicorn(gunicorn_env(values))
    await master.start()
    try:
        assert await master.wait(timeout=30) == 2
    finally:
        await master.stop()
    assert "graceful_timeout (10 s) must be longer than SHUTDOWN_TIMEOUT" in master.output


def test_the_production_install_holds_the_runtime_and_the_handlers_but_not_the_sandbox() -> None:
    # What setuptools puts in the wheel, found the way `pip install .` finds it.
    found = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    packages = {name.split(".")[0] for name in find_packages(str(ROOT), **found["find"])}
    assert packages == {"bot", "handlers"}
