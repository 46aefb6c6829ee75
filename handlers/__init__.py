"""The bot's features, and their composition root.

- `get_routers()` lists one router per feature module, in the order updates try them;
- `lifespan(services)` opens the services handlers receive by name, and closes them at stop
  (`await services.open("http", aiohttp.ClientSession)` gives every handler with an argument
  `http` the client; `services.per_update("session", ...)` opens one per update that asks);
- `settings.py` holds your settings; handlers receive them as `settings`.

How to add each: docs/handlers.md.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand

from bot.services import Services
from handlers import admin, errors, start

# copier: if database
# isort: split
from handlers import broadcast, users  # the users record and /broadcast (the database's)

# copier: endif
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
    routers = [commands_router()]
    # copier: if database
    # The users record first: it sees every update's user and chat.
    routers += [users.create_router(), broadcast.create_router()]
    # copier: endif
    routers += [errors.create_router(), start.create_router(), admin.create_router()]
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


def commands_router() -> Router:
    """No handlers: publishes COMMANDS when the bot starts (aiogram runs the startup hooks of
    every router)."""
    router = Router(name="commands")
    router.startup.register(publish_commands)
    return router


@asynccontextmanager
async def lifespan(services: Services) -> AsyncIterator[None]:
    """Open your services before the bot takes updates; they close after it stopped, the
    last opened first (also when one of them fails to open). For example:

        await services.open("http", aiohttp.ClientSession)  # handlers get `http`
    """
    # copier: if database
    # The runtime owns the database; `sessions` opens one transaction (`async with`).
    sessions = users.database_sessions(services)
    # A handler with an argument `session: AsyncSession` gets one transaction per update:
    # committed when it returns, rolled back when it raises. Others open none.
    services.per_update("session", sessions)
    users.mark_blocked_in_broadcasts(services, sessions)
    # copier: endif
    yield
