"""`python -m bot doctor`: each usual cause of conflicts is named, in text and in --json."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from bot.exit_codes import ExitCode
from bot.runtime.single_poller.holder import stop_advice
from bot.runtime.single_poller.lock import InstanceLock
from sandbox import Emulator
from tests.helpers.cli import Cli, doctor, write_env
from tests.helpers.lock_holders import bot_holding_lock
from tests.helpers.processes import free_port


async def test_doctor_on_a_healthy_local_setup_exits_0_and_changes_nothing(
    cli: Cli, emulator: Emulator, token: str, local_env: dict[str, str]
) -> None:
    text, as_json = await doctor(cli)

    assert text.code == ExitCode.OK, text.out
    assert "all checks passed" in text.out
    assert f"@sandbox_{token.split(':')[0]}_bot" in text.out
    statuses = {c["id"]: c["status"] for c in as_json.json()["checks"]}
    assert set(statuses.values()) <= {"ok", "skipped"}, statuses
    assert statuses["token"] == statuses["webhook"] == statuses["lock"] == "ok"
    # Nothing shared between processes here: said once, not checked.
    assert statuses["shared_state"] == "skipped"
    assert "none configured: the state lives in each process" in text.out
    methods = {call.method for call in emulator.api_calls(token)}
    assert methods == {"getMe", "getWebhookInfo"}
    assert token not in text.out + as_json.out
    # The effective flood limits, Telegram's by default, in one budget per process.
    assert "30 msg/s in all (evenly spaced), 1 msg/s per chat" in text.out
    flood = as_json.check("flood_control")["details"]
    assert (flood["global_per_second"], flood["group_per_minute"], flood["shared"]) == (
        30,
        20,
        False,
    )


async def test_doctor_names_a_webhook_set_while_configured_for_polling(
    cli: Cli, emulator: Emulator, token: str, local_env: dict[str, str]
) -> None:
    emulator.set_webhook_directly(token, "https://bot.example.com/telegram/webhook")
    emulator.send_text(token, "waiting")

    text, as_json = await doctor(cli)

    assert text.code == ExitCode.ATTENTION
    assert "PROBLEM  webhook" in text.out
    assert "a webhook is set (https://bot.example.com/telegram/webhook)" in text.out
    assert "configured for polling" in text.out
    assert "python -m bot rollback --env local" in text.out
    check = as_json.check("webhook")
    assert check["status"] == "problem"
    assert "configured for polling" in check["summary"]
    assert as_json.json()["facts"]["webhook_pending_update_count"] == 1


async def test_doctor_names_the_local_poller_holding_the_lock_and_how_to_stop_it(
    cli: Cli, token: str, local_env: dict[str, str], tmp_path: Path
) -> None:
    bot_id = int(token.split(":")[0])
    with bot_holding_lock(Path(local_env["LOCK_DIR"]), bot_id, tmp_path / "poller") as poller:
        text, as_json = await doctor(cli)

    assert text.code == ExitCode.WARNINGS
    assert f"held by pid {poller.pid} on host" in text.out
    assert "a poller of this bot is running" in text.out
    assert stop_advice(poller.pid) in text.out
    check = as_json.check("lock")
    assert check["status"] == "warning"
    assert check["details"]["pid"] == poller.pid
    assert check["details"]["alive"] is True


async def test_doctor_does_not_advise_stopping_a_lock_holder_that_is_not_a_bot(
    cli: Cli, token: str, local_env: dict[str, str]
) -> None:
    bot_id = int(token.split(":")[0])
    with InstanceLock(Path(local_env["LOCK_DIR"]), bot_id):  # held by this test process
        text, as_json = await doctor(cli)

    assert text.code == ExitCode.ATTENTION
    assert f"pid {os.getpid()} is not this bot's process" in text.out
    assert f"kill {os.getpid()}" not in text.out
    assert as_json.check("lock")["details"]["state"] == "other"


async def test_doctor_finds_the_same_token_in_both_env_files(
    cli: Cli, project: Path, token: str, local_env: dict[str, str], production_env: dict[str, str]
) -> None:
    write_env(project, "production", production_env)

    text, as_json = await doctor(cli)

    assert text.code == ExitCode.ATTENTION
    masked = f"{token.split(':')[0]}:***"
    assert f"the same token ({masked}) is in .env.local and .env.production" in text.out
    assert as_json.check("same_token")["status"] == "problem"
    assert token not in text.out + as_json.out


NOT_ROOT = sys.platform == "win32" or os.geteuid() != 0


@pytest.mark.skipif(sys.platform == "win32", reason="file modes are POSIX")
@pytest.mark.parametrize(
    ("mode", "status", "summary"),
    [
        (0o644, "problem", "is readable by every user of this machine (mode 644)"),
        # The deploy guide's layout: root owns it, the bot's group may read it.
        pytest.param(
            0o640,
            "ok",
            "owned by root, readable by its group only (mode 640)",
            marks=pytest.mark.skipif(NOT_ROOT, reason="needs a root-owned file (run as root)"),
        ),
    ],
)
async def test_doctor_judges_who_may_read_env_production(
    cli: Cli,
    project: Path,
    local_env: dict[str, str],
    production_env: dict[str, str],
    mode: int,
    status: str,
    summary: str,
) -> None:
    path = write_env(project, "production", {**production_env, "BOT_TOKEN": "42:other-bot"})
    os.chmod(path, mode)

    text, as_json = await doctor(cli)

    check = as_json.check("env_permissions")
    assert (check["status"], summary in check["summary"]) == (status, True), check
    if status == "problem":
        assert text.code == ExitCode.ATTENTION
        assert f"chmod 600 {path}" in text.out
    assert as_json.check("same_token")["status"] == "ok"


async def test_doctor_names_an_unreachable_bot_api_and_the_failing_step(
    cli: Cli, project: Path, polling_env: dict[str, str]
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    write_env(project, "local", {**polling_env, "TELEGRAM_API_URL": closed})

    text, as_json = await doctor(cli)

    assert text.code == ExitCode.ATTENTION
    assert f"{closed} unreachable at the TCP step" in text.out
    assert "connection refused" in text.out
    check = as_json.check("api_reachable")
    assert check["status"] == "problem"
    assert [s["step"] for s in check["details"]["steps"]] == ["dns", "tcp"]
    assert as_json.check("token")["status"] == "skipped"


async def test_doctor_still_runs_its_checks_when_the_configuration_does_not_load(
    cli: Cli, project: Path, token: str, polling_env: dict[str, str]
) -> None:
    write_env(project, "local", {**polling_env, "BOT_MODE": "pollling", "WEB_PORT": "99999"})

    text, as_json = await doctor(cli)

    assert text.code == ExitCode.ATTENTION
    problems = [c for c in as_json.json()["checks"] if c["id"] == "config"]
    assert len(problems) == 2
    assert "BOT_MODE='pollling' is not valid" in text.out
    # The token is fine, so everything that needs only the token still ran.
    assert as_json.check("token")["status"] == "ok"
    assert as_json.check("lock")["status"] == "ok"


async def test_doctor_lists_another_copy_of_the_bot_running_on_this_machine(
    cli: Cli, project: Path, local_env: dict[str, str]
) -> None:
    if sys.platform != "linux":
        pytest.skip("the test starts a look-alike process and finds it through /proc")
    # A stand-in for `python run.py` at this project's root (the real one imports aiogram).
    (project / "run.py").write_text("import time\ntime.sleep(60)\n")
    copy = await asyncio.create_subprocess_exec(sys.executable, str(project / "run.py"))
    try:
        text, as_json = await doctor(cli)
    finally:
        copy.kill()
        await copy.wait()

    assert text.code == ExitCode.WARNINGS
    assert f"pid {copy.pid}: " in text.out
    assert "1 other process run this project's bot here" in text.out
    pids = [p["pid"] for p in as_json.check("processes")["details"]["processes"]]
    assert pids == [copy.pid]
