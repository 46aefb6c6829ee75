"""The user's language: their app's, else the default; /language changes it for good."""

from sandbox.testing import BotTest


async def test_a_user_whose_app_is_in_russian_gets_start_in_russian(tg: BotTest) -> None:
    reply = await tg.user("Борис", language_code="ru").send("/start")
    assert reply.text.startswith("Здравствуйте, Борис!")
    assert "/help - этот список" in reply.text


async def test_a_language_the_bot_does_not_speak_gets_the_default(tg: BotTest) -> None:
    reply = await tg.user("Cleo", language_code="de").send("/start")
    assert reply.text.startswith("Hello, Cleo!")


async def test_language_switches_and_the_choice_outlasts_a_cancelled_conversation(
    tg: BotTest,
) -> None:
    user = tg.user("Ada", language_code="en")
    offer = await user.send("/language")
    assert offer.text == "Choose your language:"
    chosen = await user.click("Русский")
    assert chosen.toast == "Теперь я говорю с вами по-русски."
    # copier: if example_handlers
    await user.send("/cancel")  # clears the conversation's data, not the language
    # copier: endif
    reply = await user.send("/help")
    assert reply.text.startswith("Я бот-шаблон. Попробуйте:")
