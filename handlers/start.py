"""/start and /help: the first thing a user sees."""

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _


def help_text() -> str:
    """What the bot can do, in the user's language."""
    lines = [_("I am a template bot. Try:")]
    # copier: if example_handlers
    lines += [
        _("/menu - an inline keyboard"),
        _("/survey - a short two-step conversation"),
        _("/cancel - leave the conversation"),
        _("Anything else you write, I repeat."),
    ]
    # copier: endif
    lines += [_("/language - choose my language"), _("/help - this list")]
    return "\n".join(lines)


async def start(message: Message) -> None:
    name = message.from_user.first_name if message.from_user else _("there")
    greeting = _("Hello, {name}!").format(name=name)
    await message.answer(f"{greeting}\n\n{help_text()}", parse_mode=None)


async def help_command(message: Message) -> None:
    await message.answer(help_text(), parse_mode=None)


def create_router() -> Router:
    router = Router(name="start")
    router.message.register(start, CommandStart())
    router.message.register(help_command, Command("help"))
    return router
