"""/broadcast <text>: one of the bot's admins (see admin.py) sends a message to many chats.

The sending is the runtime's broadcast helper, which handlers receive as an argument named
`broadcaster`: it sends at Telegram's limit in the background (so the bot keeps answering
everyone meanwhile), resumes after a restart without sending anyone the message twice, and
reports sent / blocked / failed to the admin's chat when it is done. Its type, `Broadcasts`,
is one of the small public types of `bot/services.py`.

The audience here is a text file (BROADCAST_AUDIENCE_FILE, one chat id a line); a real bot
reads its users from its database instead.
"""

import asyncio
from pathlib import Path

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.services import Broadcasts
from bot.settings import Settings
from handlers.admin import is_admin, not_an_admin


def read_audience(path: Path) -> list[int]:
    """The chat ids in a text file, one a line (blank lines and `#` comments skipped)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [int(line) for line in lines if line]


async def broadcast(
    message: Message,
    command: CommandObject,
    bot: Bot,
    settings: Settings,
    broadcaster: Broadcasts,
) -> None:
    text = (command.args or "").strip()
    if not text:
        await message.answer(_("Usage: /broadcast <text to send to every chat>"), parse_mode=None)
        return
    path = settings.broadcast_audience_file
    if path is None:
        await message.answer(
            _("Nobody to send to: set BROADCAST_AUDIENCE_FILE to a file of chat ids, one a line."),
            parse_mode=None,
        )
        return
    try:
        chats = await asyncio.to_thread(read_audience, path)
    except (OSError, ValueError) as exc:
        await message.answer(
            _(
                "Cannot read BROADCAST_AUDIENCE_FILE {path} ({error}). Put one chat id a line in "
                "it, or point the setting at the right file, then send the command again."
            ).format(path=path, error=exc),
            parse_mode=None,
        )
        return
    # The command's own id: the same update delivered again does not start a second one.
    job_id = f"{message.chat.id}-{message.message_id}"
    if await broadcaster.start(bot, job_id, chats, text, report_to=message.chat.id):
        await message.answer(
            _(
                "Broadcast {job} started: {count} chats. The report comes here when it is done."
            ).format(job=job_id, count=len(chats)),
            parse_mode=None,
        )


def create_router() -> Router:
    router = Router(name="broadcast")
    router.message.register(broadcast, Command("broadcast"), is_admin)
    router.message.register(not_an_admin, Command("broadcast"))
    return router
