"""`migrate` (polling -> webhook) and `rollback` (webhook -> polling) against the emulator,
with the real webhook app and a real `python run.py` poller on either side of the switch."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from bot.exit_codes import ExitCode
from bot.runtime.single_poller.lock import InstanceLock
from bot.settings import load_settings
from bot.webhook.app import create_app
from sandbox import Emulator
from tests.helpers.cli import Cli, write_env
from tests.helpers.processes import BotProcess, free_port

CHAT = 100


@pytest.fixture
async def webhook_app(
    project: Path, production_env: dict[str, str]
) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """`.env.production` pointing at the project's webhook app, served on a loopback port.

    Yields a function that stops the app (as an operator stops the service)."""
    port = free_port()
    values = {**production_env, "WEBHOOK_BASE_URL": f"http://127.0.0.1:{port}"}
    write_env(project, "production", values)
    settings = load_settings(env="production", root=project)
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stopped = False

    async def stop() -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            await runner.cleanup()

    yield stop
    await stop()


def echoed(emulator: Emulator, token: str) -> list[str]:
    """What the echo handler sent back: one message per handled update."""
    return [m["text"] for m in emulator.bot_messages(token, CHAT)]


async def test_migrate_then_rollback_loses_no_update_and_handles_none_twice(
    cli: Cli,
    emulator: Emulator,
    token: str,
    webhook_app: Callable[[], Awaitable[None]],
    polling_env: dict[str, str],
    start_bot: Callable[..., Awaitable[BotProcess]],
) -> None:
    # Waiting while nobody polls (the old poller has just been stopped).
    for n in (1, 2, 3):
        emulator.send_text(token, f"before migrate {n}", chat_id=CHAT)

    migrated = await cli("migrate", "--env", "production")

    assert migrated.code == ExitCode.OK, migrated.out
    assert "Migrated: Telegram delivers to http://127.0.0.1:" in migrated.out
    assert "the 3 update(s) waiting at the switch go to it" in migrated.out
    assert "Stop and disable the old polling service" in migrated.out
    await emulator.wait_bot_messages(token, CHAT, 3)

    again = await cli("migrate", "--env", "production")
    assert again.code == ExitCode.OK, again.out
    assert "Already migrated" in again.out
    assert len(emulator.api_calls(token, "setWebhook")) == 1
    assert not emulator.api_calls(token, "getUpdates")

    # Updates that arrive while the switch back happens: Telegram holds them.
    emulator.pause_delivery(token)
    emulator.send_text(token, "during rollback 4", chat_id=CHAT)
    emulator.send_text(token, "during rollback 5", chat_id=CHAT)

    rolled_back = await cli("rollback", "--env", "production")

    assert rolled_back.code == ExitCode.OK, rolled_back.out
    assert "Rolled back: the webhook is deleted and 2 pending update(s) wait" in rolled_back.out
    assert "python run.py --env production --mode polling" in rolled_back.out
    again = await cli("rollback", "--env", "production", "--json")
    assert again.code == ExitCode.OK
    assert again.json()["headline"].startswith("Already rolled back")
    assert len(emulator.api_calls(token, "deleteWebhook")) == 1

    emulator.resume_delivery(token)  # no webhook any more: nothing may be delivered
    await webhook_app()
    emulator.send_text(token, "after rollback 6", chat_id=CHAT)
    poller = await start_bot(polling_env)
    await emulator.wait_bot_messages(token, CHAT, 6, timeout=30)
    await poller.stop()

    assert sorted(echoed(emulator, token)) == sorted(
        [f"before migrate {n}" for n in (1, 2, 3)]
        + ["during rollback 4", "during rollback 5", "after rollback 6"]
    )
    assert emulator.pending_updates(token) == []
    delivered = [d.update_id for d in emulator.deliveries(token) if d.acknowledged]
    assert len(delivered) == len(set(delivered)) == 3


async def test_migrate_refuses_while_a_local_poller_holds_the_lock_and_names_it(
    cli: Cli,
    emulator: Emulator,
    token: str,
    webhook_app: Callable[[], Awaitable[None]],
    production_env: dict[str, str],
) -> None:
    bot_id = int(token.split(":")[0])
    with InstanceLock(Path(production_env["LOCK_DIR"]), bot_id):
        text = await cli("migrate", "--env", "production")
        as_json = await cli("migrate", "--env", "production", "--json")

    assert text.code == as_json.code == ExitCode.LOCKED
    assert "Migration refused: a poller of this bot runs on this machine." in text.out
    assert f"held by pid {os.getpid()} on host" in text.out
    assert as_json.json()["checks"][0]["details"]["pid"] == os.getpid()
    assert emulator.api_calls(token, "setWebhook") == []


async def test_migrate_does_nothing_when_the_webhook_endpoint_does_not_answer(
    cli: Cli, emulator: Emulator, token: str, project: Path, production_env: dict[str, str]
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    write_env(project, "production", {**production_env, "WEBHOOK_BASE_URL": closed})

    result = await cli("migrate", "--env", "production")

    assert result.code == ExitCode.ATTENTION
    assert f"GET {closed}/readyz: connection refused" in result.out
    assert "--skip-probe" in result.out
    assert emulator.api_calls(token, "setWebhook") == []

    skipped = await cli("migrate", "--env", "production", "--skip-probe")
    assert skipped.code == ExitCode.OK, skipped.out
    assert emulator.webhook(token).url == closed + "/telegram/webhook"
