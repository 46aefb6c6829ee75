"""/start and /help: the first thing a user sees."""

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

HELP_LINES = ["I am a template bot. Try:"]
# copier: if example_handlers
HELP_LINES += [
    "/menu - an inline keyboard",
    "/survey - a short two-step conversation",
    "/cancel - leave the conversation",
    "Anything else you write, I repeat.",
]
# copier: endif
HELP_TEXT = "\n".join([*HELP_LINES, "/help - this list"])


async def start(message: Message) -> None:
    name = message.from_user.first_name if message.from_user else "there"
    await message.answer(f"Hello, {name}!\n\n{HELP_TEXT}", parse_mode=None)


async def help_command(message: Message) -> None:
    await message.answer(HELP_TEXT, parse_mode=None)


def create_router() -> Router:
    router = Router(name="start")
    router.message.register(start, CommandStart())
    router.message.register(help_command, Command("help"))
    return router
