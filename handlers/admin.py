"""/admin: a command only the bot's admins may use. It reads a setting (ADMIN_IDS), which
handlers receive as an argument named `settings`."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.settings import Settings


async def is_admin(message: Message, settings: Settings) -> bool:
    """True when the sender's Telegram user id is in ADMIN_IDS."""
    return message.from_user is not None and message.from_user.id in settings.admin_ids


async def admin_panel(message: Message, settings: Settings) -> None:
    await message.answer(
        f"You are an admin of this bot ({len(settings.admin_ids)} in ADMIN_IDS). "
        f"It runs in {settings.app_env} ({settings.bot_mode} mode).",
        parse_mode=None,
    )


async def not_an_admin(message: Message) -> None:
    await message.answer("This command is for the bot's admins (ADMIN_IDS).", parse_mode=None)


def create_router() -> Router:
    router = Router(name="admin")
    router.message.register(admin_panel, Command("admin"), is_admin)
    router.message.register(not_an_admin, Command("admin"))
    return router
