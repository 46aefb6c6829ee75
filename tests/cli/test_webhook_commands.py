"""`python -m bot webhook info | set | delete` against the emulator."""

from __future__ import annotations

from pathlib import Path

from bot.exit_codes import ExitCode
from sandbox import Emulator
from tests.helpers.cli import Cli, text_facts, write_env

ELSEWHERE = "http://127.0.0.1:9/telegram/webhook"


async def test_webhook_delete_keeps_pending_updates_unless_asked_to_drop_them(
    cli: Cli, emulator: Emulator, token: str, local_env: dict[str, str]
) -> None:
    emulator.pause_delivery(token)
    emulator.set_webhook_directly(token, ELSEWHERE)
    emulator.send_text(token, "one")
    emulator.send_text(token, "two")

    kept = await cli("webhook", "delete")

    assert kept.code == ExitCode.OK, kept.out
    assert f"Webhook {ELSEWHERE} deleted; 2 updates pending, kept" in kept.out
    assert emulator.webhook(token).url == ""
    assert len(emulator.pending_updates(token)) == 2
    assert emulator.api_calls(token, "deleteWebhook")[0].params.get("drop_pending_updates") in (
        None,
        False,
    )

    again = await cli("webhook", "delete")
    assert again.code == ExitCode.OK
    assert "No webhook is set: nothing to delete. 2 updates pending." in again.out

    emulator.set_webhook_directly(token, ELSEWHERE)
    dropped = await cli("webhook", "delete", "--drop-pending-updates", "--json")

    assert dropped.code == ExitCode.OK
    assert "2 updates dropped" in dropped.json()["headline"]
    assert emulator.pending_updates(token) == []


async def test_webhook_set_twice_makes_one_setwebhook_call(
    cli: Cli,
    emulator: Emulator,
    token: str,
    project: Path,
    production_env: dict[str, str],
) -> None:
    write_env(project, "production", production_env)
    url = production_env["WEBHOOK_BASE_URL"] + "/telegram/webhook"

    first = await cli("webhook", "set", "--env", "production")
    second = await cli("webhook", "set", "--env", "production")

    assert first.code == second.code == ExitCode.OK, first.out + second.out
    assert f"Webhook set to {url}." in first.out
    assert f"Webhook already set to {url}: nothing changed." in second.out
    assert len(emulator.api_calls(token, "setWebhook")) == 1
    assert emulator.webhook(token).url == url
    assert emulator.webhook(token).secret_token == production_env["WEBHOOK_SECRET"]

    info = await cli("webhook", "info", "--env", "production", "--json")
    assert info.code == ExitCode.OK
    assert info.json()["facts"]["url"] == url
    assert info.json()["facts"]["matches_configuration"] is True


async def test_webhook_set_refuses_an_environment_configured_for_polling(
    cli: Cli, emulator: Emulator, token: str, local_env: dict[str, str]
) -> None:
    result = await cli("webhook", "set")

    assert result.code == ExitCode.CONFIG
    assert "configures polling (BOT_MODE=polling)" in result.out
    assert emulator.api_calls(token, "setWebhook") == []


async def test_json_facts_are_machine_values_and_the_text_says_what_none_means(
    cli: Cli, emulator: Emulator, token: str, local_env: dict[str, str]
) -> None:
    emulator.send_text(token, "waiting")

    as_json = await cli("webhook", "info", "--json")
    text = await cli("webhook", "info")

    facts = as_json.json()["facts"]
    assert facts == {
        "url": None,
        "pending_update_count": 1,
        "last_error_message": None,
        "last_error_date": None,
        "configured_url": None,
        "matches_configuration": True,
    }
    shown = text_facts(text.out)
    assert shown["url"] == "none: no webhook is set"
    assert shown["configured url"] == "none: polling mode"
    assert shown["matches configuration"] == "yes"
