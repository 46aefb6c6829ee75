"""/survey: a two-step conversation in FSM state, with a reply keyboard for the name."""

from sandbox.testing import TestUser


async def test_the_survey_asks_name_then_age_and_sums_up(user: TestUser) -> None:
    reply = await user.send("/survey")
    assert reply.text == "What is your name? (/cancel to stop)"
    assert user.chat.reply_keyboard == [["Ada"]]
    assert await user.state() == "Survey:name"

    reply = await user.click("Ada")  # the reply keyboard's key
    assert reply.text == "How old are you?"
    assert user.chat.reply_keyboard is None
    assert await user.data() == {"name": "Ada"}

    assert (await user.send("old")).text == "Please send your age as a number, e.g. 30."
    reply = await user.send("36")
    assert reply.text == "Nice to meet you, Ada, aged 36."
    assert await user.state() is None


async def test_cancel_leaves_the_survey_and_says_so_when_there_is_nothing(user: TestUser) -> None:
    assert (await user.send("/cancel")).text == "Nothing to cancel."
    await user.send("/survey")
    assert (await user.send("/cancel")).text == "Cancelled."
    assert await user.state() is None and user.chat.reply_keyboard is None
