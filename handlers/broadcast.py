"""/broadcast <text>: one of the bot's admins (see admin.py) sends a message to every user the
bot knows (handlers/users.py records them) who has not blocked it.

The sending is the runtime's broadcast helper, which handlers receive as an argument named
`broadcaster`: it sends at Telegram's limit in the background (so the bot keeps answering
everyone meanwhile), resumes after a restart without sending anyone the message twice, and
reports sent / blocked / failed to the admin's chat when it is done. Users who blocked the
bot are marked as it goes (users.py registers that), so the next broadcast skips them. Its
type, `Broadcasts`, is one of the small public types of `bot/services.py`.
"""

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import Broadcasts
from handlers.admin import is_admin, not_an_admin
from handlers.models import User


async def audience(session: AsyncSession) -> list[int]:
    """The users who may receive a broadcast: every one seen, except who blocked the bot."""
    result = await session.scalars(select(User.id).where(User.blocked.is_(False)).order_by(User.id))
    return list(result)


async def broadcast(
    message: Message,
    command: CommandObject,
    bot: Bot,
    broadcaster: Broadcasts,
    session: AsyncSession,
) -> None:
    text = (command.args or "").strip()
    if not text:
        await message.answer(_("Usage: /broadcast <text to send to every user>"), parse_mode=None)
        return
    chats = await audience(session)
    # The command's own id: the same update delivered again does not start a second one.
    job_id = f"{message.chat.id}-{message.message_id}"
    if await broadcaster.start(bot, job_id, chats, text, report_to=message.chat.id):
        await message.answer(
            _(
                "Broadcast {job} started: {count} users. The report comes here when it is done."
            ).format(job=job_id, count=len(chats)),
            parse_mode=None,
        )


def create_router() -> Router:
    router = Router(name="broadcast")
    router.message.register(broadcast, Command("broadcast"), is_admin)
    router.message.register(not_an_admin, Command("broadcast"))
    return router
