"""/menu: an inline keyboard whose answer edits the message."""

from sandbox.testing import TestUser


async def test_start_lists_the_menu_among_the_commands(user: TestUser) -> None:
    reply = await user.send("/start")
    assert "/menu - an inline keyboard" in reply.text


async def test_a_pressed_button_shows_a_toast_and_edits_the_menu(user: TestUser) -> None:
    menu = await user.send("/menu")
    assert menu.buttons == ["Apple", "Banana", "Cherry"]

    reply = await user.click("Banana")
    assert reply.toast == "You picked banana"
    assert reply.edited_texts == ["You picked: banana"] and reply.sent == []
    assert reply.message.reply_markup is None  # the edit removed the keyboard


async def test_a_button_can_be_pressed_by_its_callback_data(user: TestUser) -> None:
    await user.send("/menu")
    reply = await user.click("menu:cherry")
    assert reply.text == "You picked: cherry"
