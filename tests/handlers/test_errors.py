"""When Telegram refuses what a handler sends: a 429 is waited out and sent again; anything
else gets the error handler's apology, or is logged."""

from sandbox.testing import BotTest, TestUser


async def test_a_reply_answered_429_is_sent_again_after_retry_after_and_arrives_once(
    tg: BotTest, user: TestUser
) -> None:
    tg.fail_next("sendMessage", 429, retry_after=1)
    reply = await user.send("/start")

    assert [e.description for e in reply.errors] == ["Too Many Requests: retry after 1"]
    assert len(reply.texts) == 1 and reply.texts[0].startswith("Hello")  # no apology


async def test_a_refused_reply_is_followed_by_an_apology(tg: BotTest, user: TestUser) -> None:
    tg.fail_next("sendMessage", 500)
    reply = await user.send("/start")

    assert [e.error_code for e in reply.errors] == [500]
    assert reply.texts == ["Sorry, something went wrong. Please try again later."]


async def test_a_user_who_blocked_the_bot_gets_nothing_and_the_403_is_seen(
    user: TestUser,
) -> None:
    user.block_bot()
    reply = await user.send("/start")

    assert reply.sent == []
    assert {e.error_code for e in reply.errors} == {403}  # the answer, then the apology
    assert reply.errors[0].description == "Forbidden: bot was blocked by the user"
