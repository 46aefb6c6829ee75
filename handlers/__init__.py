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
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers import admin, broadcast, errors, language, start

# copier: if example_handlers
# isort: split
from handlers import echo, menu, survey  # the examples (copier's `example_handlers`)

# copier: endif
logger = logging.getLogger(__name__)


def menu_commands() -> list[BotCommand]:
    """The commands Telegram offers in the chat's menu, in the current language."""
    return [
        BotCommand(command="start", description=_("say hello")),
        BotCommand(command="help", description=_("what this bot can do")),
        BotCommand(command="language", description=_("choose the bot's language")),
        # copier: if example_handlers
        BotCommand(command="menu", description=_("an inline keyboard")),
        BotCommand(command="survey", description=_("a two-step conversation")),
        BotCommand(command="cancel", description=_("leave the conversation")),
        # copier: endif
    ]


def get_routers() -> list[Router]:
    """Fresh routers, in the order updates try them (a catch-all goes last).

    A router can be attached to one dispatcher only, so each call builds new ones
    (the tests and every webhook worker build their own dispatcher).
    """
    return [
        errors.create_router(),
        start.create_router(),
        language.create_router(),
        admin.create_router(),
        broadcast.create_router(),
        # copier: if example_handlers
        menu.create_router(),
        survey.create_router(),
        echo.create_router(),  # the catch-all: any other text
        # copier: endif
    ]


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


def slow_down_text() -> str:
    """The notice of a user who sends too fast (THROTTLE_LIMIT), in their language."""
    return _("You are sending messages too fast. Please wait a few seconds, then go on.")


def setup(dispatcher: Dispatcher) -> None:
    """Called once per dispatcher, after the routers are included, in every mode."""
    settings = dispatcher["settings"]
    i18n = language.load_i18n(settings.default_language)
    store = language.FsmLanguageStore(dispatcher.storage)
    dispatcher["i18n"], dispatcher["languages"] = i18n, store
    # On the updates, not on each event type: the "slow down" notice is translated too.
    dispatcher.update.outer_middleware(language.UserLanguage(i18n, store))
    dispatcher["throttle_notice"] = slow_down_text
    dispatcher.startup.register(publish_commands)
    # Incoming throttling (THROTTLE_LIMIT) never slows the bot's admins down.
    dispatcher["throttle_exempt"] = frozenset(settings.admin_ids)
