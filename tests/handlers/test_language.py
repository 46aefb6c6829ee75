"""The user's language: their app's, else the default; /language changes it for good."""

from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage

from handlers.language import FsmLanguageStore
from sandbox.testing import BotTest

BOT_ID, USER_ID = 1, 42


async def test_a_user_whose_app_is_in_russian_gets_start_in_russian(tg: BotTest) -> None:
    reply = await tg.user("Борис", language_code="ru").send("/start")
    assert reply.text.startswith("Здравствуйте, Борис!")
    assert "/help - этот список" in reply.text


async def test_a_language_the_bot_does_not_speak_gets_the_default(tg: BotTest) -> None:
    reply = await tg.user("Cleo", language_code="de").send("/start")
    assert reply.text.startswith("Hello, Cleo!")


async def test_language_switches_and_the_choice_outlasts_a_cleared_conversation(
    tg: BotTest,
) -> None:
    user = tg.user("Ada", language_code="en")
    offer = await user.send("/language")
    assert offer.text == "Choose your language:"
    chosen = await user.click("Русский")
    assert chosen.toast == "Теперь я говорю с вами по-русски."
    reply = await user.send("/help")
    assert reply.text.startswith("Я бот-шаблон. Попробуйте:")


async def test_clearing_a_conversation_keeps_the_chosen_language() -> None:
    # What /cancel does (state.clear()) touches the conversation's key, not the language's.
    storage = MemoryStorage()
    store = FsmLanguageStore(storage)
    await store.set(BOT_ID, USER_ID, "ru")
    conversation = StorageKey(bot_id=BOT_ID, chat_id=USER_ID, user_id=USER_ID)
    await FSMContext(storage, conversation).clear()
    assert await store.get(BOT_ID, USER_ID) == "ru"
