"""The bot's features, and their composition root.

- `get_routers()` lists one router per feature module, in the order updates try them;
- `lifespan(services)` opens the services handlers receive by name, and closes them at stop
  (`await services.open("http", aiohttp.ClientSession)` gives every handler with an argument
  `http` the client; `services.per_update("session", ...)` opens one per update that asks);
- `setup(dispatcher)` adds what must wrap every update (the user's language);
- `settings.py` holds your settings; handlers receive them as `settings`.

How to add each: docs/handlers.md.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiogram import Bot, Dispatcher, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.services import Services
from handlers import admin, errors, language, start

# copier: if database
# isort: split
from handlers import broadcast, users  # the users record and /broadcast (the database's)

# copier: endif
# copier: if example_handlers
# isort: split
from handlers import echo, menu, survey  # the examples (copier's `example_handlers`)

# copier: endif
logger = logging.getLogger(__name__)


def menu_commands() -> list[BotCommand]:
    """The commands Telegram offers in the chat's menu, in the current language."""
    commands = [
        BotCommand(command="start", description=_("say hello")),
        BotCommand(command="help", description=_("what this bot can do")),
        BotCommand(command="language", description=_("choose the bot's language")),
    ]
    # copier: if example_handlers
    commands += [
        BotCommand(command="menu", description=_("an inline keyboard")),
        BotCommand(command="survey", description=_("a two-step conversation")),
        BotCommand(command="cancel", description=_("leave the conversation")),
    ]
    # copier: endif
    return commands


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
    routers += [
        errors.create_router(),
        start.create_router(),
        language.create_router(),
        admin.create_router(),
    ]
    # copier: if example_handlers
    routers += [
        menu.create_router(),
        survey.create_router(),
        echo.create_router(),  # the catch-all: any other text
    ]
    # copier: endif
    return routers


async def publish_commands(bot: Bot, i18n: I18n) -> None:
    """Startup hook: the command menu in each language (and the default language's for the
    others), set once per start (it changes nothing when equal)."""
    try:
        with i18n.context():
            for code in sorted(i18n.available_locales):
                with i18n.use_locale(code):
                    await bot.set_my_commands(menu_commands(), language_code=code)
            with i18n.use_locale(i18n.default_locale):
                await bot.set_my_commands(menu_commands())
    except TelegramAPIError as exc:
        # A menu is not worth failing the start for; the next start sets it.
        logger.warning("Could not set the command menu (%s)", exc)


def commands_router() -> Router:
    """No handlers: publishes the command menu in every language when the bot starts (aiogram
    runs the startup hooks of every router)."""
    router = Router(name="commands")
    router.startup.register(publish_commands)
    return router


def slow_down_text() -> str:
    """The notice of a user who sends too fast (THROTTLE_LIMIT), in their language."""
    return _("You are sending messages too fast. Please wait a few seconds, then go on.")


@asynccontextmanager
async def lifespan(services: Services) -> AsyncIterator[None]:
    """Open your services before the bot takes updates; they close after it stopped, the
    last opened first (also when one of them fails to open). For example:

        await services.open("http", aiohttp.ClientSession)  # handlers get `http`
        services.per_update("session", database.session)     # one session per update

    The template's: the catalogs of the texts (`i18n`), what incoming throttling asks of the
    handlers (docs/anti-spam.md: whom it never slows down, its notice's text), and, with the
    database, a session per update.
    """
    settings = services.settings
    services.add("i18n", language.load_i18n(settings.default_language))
    services.add("throttle_exempt", frozenset(settings.admin_ids))  # the bot's admins
    services.add("throttle_notice", slow_down_text)
    # copier: if database
    # The runtime owns the database; `sessions` opens one transaction (`async with`).
    sessions = users.database_sessions(services)
    # A handler with an argument `session: AsyncSession` gets one transaction per update:
    # committed when it returns, rolled back when it raises. Others open none.
    services.per_update("session", sessions)
    users.mark_blocked_in_broadcasts(services, sessions)
    # copier: endif
    yield


def setup(dispatcher: Dispatcher) -> None:
    """Called once per dispatcher, after the routers are included: the user's language wraps
    each whole update, not only the handlers (a router's middleware), so that the anti-spam
    notice and the errors handler, which run outside the routers, speak it too."""
    dispatcher.update.outer_middleware(language.UserLanguage())
