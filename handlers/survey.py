"""/survey: a two-step conversation kept in FSM state (name, then age, then a summary).

The name step offers the user's Telegram name on a reply keyboard: one tap answers it.
"""

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import KeyboardButton, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _


class Survey(StatesGroup):
    name = State()
    age = State()


def name_keyboard(message: Message) -> ReplyKeyboardMarkup | None:
    if message.from_user is None:
        return None
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=message.from_user.first_name)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


async def begin(message: Message, state: FSMContext) -> None:
    await state.set_state(Survey.name)
    await message.answer(
        _("What is your name? (/cancel to stop)"), reply_markup=name_keyboard(message)
    )


async def cancel(message: Message, state: FSMContext) -> None:
    if await state.get_state() is None:
        await message.answer(_("Nothing to cancel."))
        return
    await state.clear()
    await message.answer(_("Cancelled."), reply_markup=ReplyKeyboardRemove())


async def got_name(message: Message, state: FSMContext) -> None:
    await state.update_data(name=message.text)
    await state.set_state(Survey.age)
    await message.answer(_("How old are you?"), reply_markup=ReplyKeyboardRemove())


async def got_age(message: Message, state: FSMContext) -> None:
    text = message.text or ""
    if not text.isdigit() or not 0 < int(text) < 150:
        await message.answer(_("Please send your age as a number, e.g. 30."))
        return
    data = await state.get_data()
    await state.clear()
    summary = _("Nice to meet you, {name}, aged {age}.").format(name=data["name"], age=int(text))
    await message.answer(summary, parse_mode=None)


def create_router() -> Router:
    router = Router(name="survey")
    router.message.register(begin, Command("survey"))
    # /cancel works in any state, so it is registered before the state handlers.
    router.message.register(cancel, Command("cancel"))
    router.message.register(got_name, Survey.name, F.text)
    router.message.register(got_age, Survey.age, F.text)
    return router
