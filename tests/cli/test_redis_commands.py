"""doctor and migrate with REDIS_URL: Redis itself, the polling lease, the keys."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bot.exit_codes import ExitCode
from bot.runtime.shared.redis.connection import RedisConnection
from bot.runtime.shared.redis.lease import PollingLease
from bot.runtime.single_poller.holder import LockHolder
from bot.settings import load_settings
from tests.helpers.cli import Cli, doctor, write_env
from tests.helpers.processes import free_port
from tests.helpers.redis import RedisServer

ELSEWHERE = LockHolder(4242, "other-host", datetime.now().astimezone(), "python run.py")


async def hold_lease_elsewhere(env_file: Path, root: Path) -> RedisConnection:
    """Another host's poller holds the lease (for a minute)."""
    settings = load_settings(
        env_file=env_file, overrides={"POLLING_LEASE_TTL": "60"}, root=root, environment=False
    )
    connection = RedisConnection(settings)
    await PollingLease(connection, ELSEWHERE).acquire()
    return connection


async def test_doctor_reports_redis_the_lease_holder_and_keys_without_a_bot_id(
    cli: Cli, project: Path, polling_env: dict[str, str], redis_server: RedisServer
) -> None:
    env_file = write_env(project, "local", {**polling_env, "REDIS_URL": redis_server.url})
    _, as_json = await doctor(cli)
    assert as_json.check("redis")["status"] == "ok"
    assert as_json.check("redis")["details"]["version"].count(".") == 2
    assert as_json.check("polling_lease")["summary"].startswith("free")
    assert as_json.check("redis_keys")["status"] == "ok"

    shared = await hold_lease_elsewhere(env_file, project)
    await shared.redis.set("fsm:100:100:state", "Survey:name")  # aiogram's default key builder
    try:
        _, as_json = await doctor(cli)
    finally:
        await shared.close()
    lease = as_json.check("polling_lease")
    assert lease["details"]["host"] == "other-host" and lease["details"]["pid"] == 4242
    keys = as_json.check("redis_keys")
    assert keys["status"] == "warning" and keys["details"]["keys_without_bot_id"] == 1


async def test_doctor_names_an_unreachable_redis_without_its_password(
    cli: Cli, project: Path, polling_env: dict[str, str]
) -> None:
    closed = f"redis://:hunter2-pw@127.0.0.1:{free_port()}/0"
    write_env(project, "local", {**polling_env, "REDIS_URL": closed})
    text, as_json = await doctor(cli)
    assert text.code == ExitCode.ATTENTION
    assert as_json.check("redis")["status"] == "problem"
    assert "hunter2-pw" not in text.out + as_json.out and ":***@" in text.out


async def test_migrate_refuses_while_another_host_holds_the_polling_lease(
    cli: Cli,
    project: Path,
    production_env: dict[str, str],
    redis_server: RedisServer,
    request: pytest.FixtureRequest,
) -> None:
    values = {**production_env, "REDIS_URL": redis_server.url}
    # copier: if database
    # Hosts sharing state in production: SQLite is refused, so a PostgreSQL of the test's own.
    values["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    # copier: endif
    env_file = write_env(project, "production", values)
    shared = await hold_lease_elsewhere(env_file, project)
    try:
        result = await cli("migrate", "--env", "production", "--skip-probe", "--json")
    finally:
        await shared.close()
    assert result.code == ExitCode.LOCKED
    assert "runs on another host" in result.json()["headline"]
    assert result.check("lease")["details"]["host"] == "other-host"
