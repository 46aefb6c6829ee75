"""/menu: an inline keyboard, and what happens when a button is pressed."""

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder


class Choice(CallbackData, prefix="menu"):
    """What a button carries back: `menu:<fruit>` (Telegram allows 64 bytes)."""

    fruit: str


FRUITS = ("apple", "banana", "cherry")


def fruit_name(fruit: str) -> str:
    """A fruit's name in the user's language."""
    names = {"apple": _("apple"), "banana": _("banana"), "cherry": _("cherry")}
    return names[fruit]


def menu_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for fruit in FRUITS:
        builder.button(text=fruit_name(fruit).capitalize(), callback_data=Choice(fruit=fruit))
    return builder.as_markup()


async def show_menu(message: Message) -> None:
    await message.answer(_("Pick a fruit:"), reply_markup=menu_keyboard())


async def chosen(query: CallbackQuery, callback_data: Choice) -> None:
    # Answer first: until then the user's button shows a spinner.
    picked = fruit_name(callback_data.fruit)
    await query.answer(_("You picked {fruit}").format(fruit=picked))
    # A message older than 48 hours is "inaccessible": it can no longer be edited.
    if isinstance(query.message, Message):
        await query.message.edit_text(_("You picked: {fruit}").format(fruit=picked))


def create_router() -> Router:
    router = Router(name="menu")
    router.message.register(show_menu, Command("menu"))
    router.callback_query.register(chosen, Choice.filter(F.fruit.in_(FRUITS)))
    return router
