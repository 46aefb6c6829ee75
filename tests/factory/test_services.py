"""A feature with an async resource, added in handlers/ alone (tests/fixtures/service_handlers.py):
its services are opened once at start and closed once at stop, in both modes; a per-update
service is opened for each update whose handler asks for it, committed or rolled back. A
handler test that replaces a service: tests/handlers/test_service_override.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import pytest
from aiohttp import web

from bot.exit_codes import ExitCode
from bot.owner import BotRuntime
from bot.services import ServiceError
from bot.settings import Settings
from sandbox import Emulator
from tests.fixtures import service_handlers
from tests.fixtures.service_handlers import EVENTS
from tests.helpers.constants import SECRET
from tests.helpers.polling import RunningBot

MODULE = "tests.fixtures.service_handlers"
MakeSettings = Callable[..., Settings]
StartRunner = Callable[..., Awaitable[RunningBot]]


@pytest.fixture(autouse=True)
def _fresh_events() -> Iterator[None]:
    service_handlers.reset()
    yield
    service_handlers.reset()


async def test_a_service_opens_at_start_closes_at_stop_and_each_asking_update_gets_a_session(
    emulator: Emulator, token: str, make_settings: MakeSettings, start_runner: StartRunner
) -> None:
    poller = await start_runner(make_settings(HANDLERS_MODULE=MODULE))
    assert EVENTS == ["weather opened"]

    for chat, command in ((601, "/weather"), (602, "/ping"), (603, "/weather")):
        emulator.send_command(token, command, chat_id=chat)
        await emulator.wait_bot_messages(token, chat_id=chat, count=1)
    # The reply is sent from inside the handler; the session commits once it returned.
    await emulator.wait_until(lambda: len(EVENTS) == 5, what="the second commit")
    assert EVENTS[1:] == [
        "session 1 opened",
        "session 1 committed",  # /ping asked for none: no session between these two
        "session 2 opened",
        "session 2 committed",
    ]
    replies = [emulator.bot_messages(token, chat)[0]["text"] for chat in (601, 602, 603)]
    assert replies == ["Sunny in Lisbon (session 1)", "pong", "Sunny in Lisbon (session 2)"]

    assert await poller.stop() == ExitCode.OK
    assert EVENTS.count("weather opened") == EVENTS.count("weather closed") == 1
    assert EVENTS[-1] == "weather closed"  # after every update's session


async def test_a_handler_that_raises_rolls_its_session_back(
    emulator: Emulator, token: str, make_settings: MakeSettings, start_runner: StartRunner
) -> None:
    poller = await start_runner(make_settings(HANDLERS_MODULE=MODULE))
    emulator.send_command(token, "/crash", chat_id=604)

    apology = await emulator.wait_bot_messages(token, chat_id=604, count=1)
    assert await poller.stop() == ExitCode.OK

    assert apology[0]["text"] == "Sorry, something went wrong. Please try again later."
    assert EVENTS == [
        "weather opened",
        "session 1 opened",
        "session 1 rolled back",
        "weather closed",
    ]


async def test_the_webhook_app_opens_the_services_at_startup_and_closes_them_at_cleanup(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings(
        HANDLERS_MODULE=MODULE,
        BOT_MODE="webhook",
        WEBHOOK_BASE_URL="http://127.0.0.1:9",
        WEBHOOK_SECRET=SECRET,
    )
    from bot.webhook.app import create_app

    app = web.AppRunner(create_app(settings), access_log=None)
    await app.setup()
    assert EVENTS == ["weather opened"]
    await app.cleanup()
    assert EVENTS == ["weather opened", "weather closed"]


async def test_a_start_that_fails_half_way_closes_what_it_opened_and_says_why(
    make_settings: MakeSettings,
) -> None:
    service_handlers.FAIL_AFTER_WEATHER.append(True)
    runtime = BotRuntime(make_settings(HANDLERS_MODULE=MODULE))

    with pytest.raises(ConnectionError, match="the database is down"):
        await runtime.open()
    assert EVENTS == ["weather opened", "weather closed"]


async def test_an_override_that_replaces_no_service_is_refused_by_name(
    make_settings: MakeSettings,
) -> None:
    runtime = BotRuntime(make_settings(HANDLERS_MODULE=MODULE), services={"wether": object()})

    with pytest.raises(ServiceError, match=r"services=\['wether'\] replace no service"):
        await runtime.open()
    assert EVENTS == ["weather opened", "weather closed"]
