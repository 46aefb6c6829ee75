"""The user's language: which one each update is answered in, and `/language` to choose it.

Texts are translated with aiogram's own i18n (gettext catalogs in `handlers/locales/`, see
docs/i18n.md). An update is answered in the user's stored choice (`/language`), else in the
language of their Telegram app (`language_code`), else in DEFAULT_LANGUAGE.

The choice is kept by a `LanguageStore`. `FsmLanguageStore` keeps it in the FSM storage,
under a key of its own (so `/cancel` clearing a conversation keeps it): in memory by
default (lost at a restart); with a shared FSM storage, kept across restarts and shared by
every worker (docs/i18n.md). A database's users table can replace it: write a class with
the same two methods.
"""

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from aiogram import BaseMiddleware, Bot, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject, User
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

logger = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

LOCALES = Path(__file__).with_name("locales")
DOMAIN = "messages"
# The shipped languages, each named in itself (what the /language keyboard shows).
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}


class CatalogNotCompiled(RuntimeError):
    """A language's catalog (.po) has no compiled form (.mo) next to it."""


class LanguageStore(Protocol):
    """Where each user's chosen language is kept."""

    async def get(self, bot_id: int, user_id: int) -> str | None:
        """The user's chosen language, or None when they chose none."""

    async def set(self, bot_id: int, user_id: int, language: str) -> None:
        """Keep the user's choice."""


class FsmLanguageStore:
    """The choice in the FSM storage (memory, or the shared storage), per bot and user."""

    def __init__(self, storage: BaseStorage) -> None:
        self.storage = storage

    @staticmethod
    def _key(bot_id: int, user_id: int) -> StorageKey:
        # A destiny of its own: not the user's conversation data, which /cancel clears.
        return StorageKey(bot_id=bot_id, chat_id=user_id, user_id=user_id, destiny="language")

    async def get(self, bot_id: int, user_id: int) -> str | None:
        """The user's chosen language, or None."""
        language = (await self.storage.get_data(self._key(bot_id, user_id))).get("language")
        return language if isinstance(language, str) else None

    async def set(self, bot_id: int, user_id: int, language: str) -> None:
        """Keep the user's choice."""
        await self.storage.update_data(self._key(bot_id, user_id), {"language": language})


def load_i18n(default_language: str, locales: Path = LOCALES) -> I18n:
    """The catalogs of `handlers/locales/`; an error naming the fix when a language has no
    compiled catalog, or DEFAULT_LANGUAGE is not one of them."""
    for po in sorted(locales.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        if not po.with_suffix(".mo").is_file():
            raise CatalogNotCompiled(
                f"{po} is not compiled, so the bot would answer in English where it should "
                f"speak {po.parts[-3]}. Compile it: pybabel compile -d handlers/locales -D "
                f"{DOMAIN} (docs/i18n.md)."
            )
    i18n = I18n(path=locales, default_locale=default_language, domain=DOMAIN)
    if default_language not in i18n.available_locales:
        raise ValueError(
            f"DEFAULT_LANGUAGE={default_language} has no catalog in handlers/locales/ (there "
            f"are: {', '.join(sorted(i18n.available_locales))}). Set one of those, or add the "
            "language (docs/i18n.md)."
        )
    return i18n


class UserLanguage(BaseMiddleware):
    """Sets each update's language: the stored choice, the app's language, the default.

    The catalogs are the service `i18n` (registered by the lifespan); the choices are kept in
    the FSM storage, handed to handlers as `languages`. The update's language is also given
    as `language`: the errors handler, which aiogram runs outside the middlewares, needs it."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        i18n: I18n = data["i18n"]
        store = data["languages"] = FsmLanguageStore(data["fsm_storage"])
        language = data["language"] = await choose(i18n, store, data)
        with i18n.context(), i18n.use_locale(language):
            return await handler(event, data)


async def choose(i18n: I18n, store: LanguageStore, data: dict[str, Any]) -> str:
    """The stored choice, else the app's language, else DEFAULT_LANGUAGE."""
    user, bot = data.get("event_from_user"), data.get("bot")
    if not isinstance(user, User):
        return i18n.default_locale
    available = i18n.available_locales
    chosen = await store.get(bot.id, user.id) if isinstance(bot, Bot) else None
    if chosen in available:
        return str(chosen)
    # Telegram sends an IETF tag such as "ru" or "pt-br": its language part is enough here.
    app_language = (user.language_code or "").split("-")[0].lower()
    return app_language if app_language in available else i18n.default_locale


class ChooseLanguage(CallbackData, prefix="lang"):
    """A button of the /language keyboard."""

    code: str


def language_keyboard(i18n: I18n) -> InlineKeyboardMarkup:
    """One button per shipped language."""
    builder = InlineKeyboardBuilder()
    for code in sorted(i18n.available_locales):
        builder.button(text=LANGUAGE_NAMES.get(code, code), callback_data=ChooseLanguage(code=code))
    return builder.as_markup()


async def show_languages(message: Message, i18n: I18n) -> None:
    await message.answer(_("Choose your language:"), reply_markup=language_keyboard(i18n))


async def choose_language(
    query: CallbackQuery, callback_data: ChooseLanguage, i18n: I18n, languages: LanguageStore
) -> None:
    code = callback_data.code
    if code not in i18n.available_locales:  # a button of an older keyboard
        await query.answer()
        return
    await languages.set(query.bot.id if query.bot else 0, query.from_user.id, code)
    with i18n.use_locale(code):  # the answer already in the new language
        done = _("From now on I speak English with you.")
        await query.answer(done)
        if isinstance(query.message, Message):
            await query.message.edit_text(done)


def create_router() -> Router:
    router = Router(name="language")
    router.message.register(show_languages, Command("language"))
    router.callback_query.register(choose_language, ChooseLanguage.filter())
    return router
