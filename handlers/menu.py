"""/menu: an inline keyboard, and what happens when a button is pressed."""

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder


class Choice(CallbackData, prefix="menu"):
    """What a button carries back: `menu:<fruit>` (Telegram allows 64 bytes)."""

    fruit: str


FRUITS = ("apple", "banana", "cherry")


def menu_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for fruit in FRUITS:
        builder.button(text=fruit.title(), callback_data=Choice(fruit=fruit))
    return builder.as_markup()


async def show_menu(message: Message) -> None:
    await message.answer("Pick a fruit:", reply_markup=menu_keyboard())


async def chosen(query: CallbackQuery, callback_data: Choice) -> None:
    # Answer first: until then the user's button shows a spinner.
    await query.answer(f"You picked {callback_data.fruit}")
    # A message older than 48 hours is "inaccessible": it can no longer be edited.
    if isinstance(query.message, Message):
        await query.message.edit_text(f"You picked: {callback_data.fruit}")


def create_router() -> Router:
    router = Router(name="menu")
    router.message.register(show_menu, Command("menu"))
    router.callback_query.register(chosen, Choice.filter(F.fruit.in_(FRUITS)))
    return router
