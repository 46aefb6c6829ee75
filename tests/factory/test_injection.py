"""What hooks receive: what setup(dispatcher) adds, the same in polling and in webhook mode.
(A handler reading a setting: tests/handlers/test_admin.py.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from inspect import signature

from aiohttp import web

from bot.exit_codes import ExitCode
from bot.owner import BotRuntime
from bot.services import Broadcasts
from bot.settings import Settings
from bot.webhook.app import create_app
from sandbox import Emulator
from tests.fixtures import recording_handlers
from tests.helpers.constants import SECRET
from tests.helpers.polling import RunningBot

MakeSettings = Callable[..., Settings]
StartRunner = Callable[..., Awaitable[RunningBot]]


async def test_startup_and_shutdown_hooks_receive_the_same_data_in_both_modes(
    emulator: Emulator, token: str, make_settings: MakeSettings, start_runner: StartRunner
) -> None:
    module = "tests.fixtures.recording_handlers"
    poller = await start_runner(make_settings(HANDLERS_MODULE=module))
    assert await poller.stop() == ExitCode.OK
    in_polling = dict(recording_handlers.RECEIVED)
    recording_handlers.RECEIVED.clear()

    webhook = make_settings(
        HANDLERS_MODULE=module,
        BOT_MODE="webhook",
        WEBHOOK_BASE_URL="http://127.0.0.1:9",
        WEBHOOK_SECRET=SECRET,
    )
    app = web.AppRunner(create_app(webhook), access_log=None)
    await app.setup()
    await app.cleanup()

    # The webhook's hooks also get the aiohttp `app`; everything else is the same.
    assert recording_handlers.RECEIVED["startup"] - {"app"} == in_polling["startup"]
    assert recording_handlers.RECEIVED["shutdown"] - {"app"} == in_polling["shutdown"]
    assert {"settings", "service", "bot", "bots", "dispatcher", "broadcaster"} <= in_polling[
        "startup"
    ]
    # The command menu (handlers' commands router) was published once per start: in each
    # shipped language, then the default one for every other language.
    published = [c.params.get("language_code") for c in emulator.api_calls(token, "setMyCommands")]
    assert published == ["en", "ru", None] * 2


async def test_handlers_receive_a_broadcaster_that_is_what_the_broadcast_command_needs(
    make_settings: MakeSettings,
) -> None:
    # handlers/broadcast.py types the argument with bot.services.Broadcasts (handlers import
    # no runtime module): the runtime's object must keep fitting it.
    async with BotRuntime(make_settings()) as runtime:
        broadcaster = runtime.dispatcher["broadcaster"]
    assert isinstance(broadcaster, Broadcasts)
    assert signature(broadcaster.start).parameters.keys() == signature(
        Broadcasts.start
    ).parameters.keys() - {"self"}
