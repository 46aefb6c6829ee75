"""Repeats any text that no other handler took. Keep it last in get_routers()."""

from aiogram import F, Router
from aiogram.types import Message


async def echo(message: Message) -> None:
    # parse_mode=None: the user's text is sent back as it is, never parsed as HTML.
    await message.answer(message.text or "", parse_mode=None)


def create_router() -> Router:
    router = Router(name="echo")
    router.message.register(echo, F.text)
    return router
