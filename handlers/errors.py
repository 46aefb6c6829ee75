"""The last line of defence: log a handler's exception and tell the user politely."""

import logging

from aiogram import Router
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

logger = logging.getLogger(__name__)


async def on_error(event: ErrorEvent, i18n: I18n, language: str | None = None) -> bool:
    update = event.update
    logger.exception(
        "Handler failed on update %s: %r",
        update.update_id,
        event.exception,
        exc_info=event.exception,
    )
    message = update.message or (update.callback_query.message if update.callback_query else None)
    if message is not None:
        try:
            # aiogram runs this handler outside the middlewares: the user's language again.
            with i18n.context(), i18n.use_locale(language or i18n.default_locale):
                await message.answer(_("Sorry, something went wrong. Please try again later."))
        except Exception:  # the apology is best effort: the error is already logged
            logger.warning("Could not tell the user about the error", exc_info=True)
    # True: the error is handled, so the update counts as processed and is not raised further.
    return True


def create_router() -> Router:
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
