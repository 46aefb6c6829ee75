"""The bot's features: one module per feature, each with a `create_router()`.

`get_routers()` lists the routers in the order updates try them; `setup(dispatcher)` (optional)
adds middlewares, startup and shutdown hooks, and objects handlers receive by name
(`dispatcher["db"] = ...` makes a `db` argument available to every handler). Handlers also
receive `settings` (the bot's `Settings`) that way.
"""

import logging

from aiogram import Bot, Dispatcher, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand

from handlers import admin, broadcast, errors, start

# copier: if example_handlers
# isort: split
from handlers import echo, menu, survey  # the examples (copier's `example_handlers`)

# copier: endif
logger = logging.getLogger(__name__)

# The commands Telegram offers in the chat's menu (setMyCommands at start-up).
COMMANDS = [
    BotCommand(command="start", description="say hello"),
    BotCommand(command="help", description="what this bot can do"),
]
# copier: if example_handlers
COMMANDS += [
    BotCommand(command="menu", description="an inline keyboard"),
    BotCommand(command="survey", description="a two-step conversation"),
    BotCommand(command="cancel", description="leave the conversation"),
]
# copier: endif


def get_routers() -> list[Router]:
    """Fresh routers, in the order updates try them (a catch-all goes last).

    A router can be attached to one dispatcher only, so each call builds new ones
    (the tests and every webhook worker build their own dispatcher).
    """
    routers = [
        errors.create_router(),
        start.create_router(),
        admin.create_router(),
        broadcast.create_router(),
    ]
    # copier: if example_handlers
    routers += [
        menu.create_router(),
        survey.create_router(),
        echo.create_router(),  # the catch-all: any other text
    ]
    # copier: endif
    return routers


async def publish_commands(bot: Bot) -> None:
    """Startup hook: the command menu, set once per start (it changes nothing when equal)."""
    try:
        await bot.set_my_commands(COMMANDS)
    except TelegramAPIError as exc:
        # A menu is not worth failing the start for; the next start sets it.
        logger.warning("Could not set the command menu (%s)", exc)


def setup(dispatcher: Dispatcher) -> None:
    """Called once per dispatcher, after the routers are included, in every mode."""
    dispatcher.startup.register(publish_commands)
