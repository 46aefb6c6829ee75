"""`TestUser` and `TestChat`: a person talking to the bot, and a chat as their client shows it.

Named as in aiogram's upcoming `aiogram.test` (`user.send`, `user.click`, `user.chat`,
`user.in_(chat)`), so that switching to it later is mostly an import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from sandbox.testing.replies import Reply
from sandbox.views import key_text, transcript

if TYPE_CHECKING:
    from sandbox.testing.environment import BotTest

JSON = dict[str, Any]
Snapshot = dict[int, JSON]


class TestChat:
    """A chat with the bot: a user's private chat, or a group."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, tg: BotTest, chat_id: int, chat_type: str, title: str | None) -> None:
        self.tg = tg
        self.id = chat_id
        self.type = chat_type
        self.title = title

    def _raw(self) -> list[JSON]:
        return list(self.tg.state.messages.get(self.id, {}).values())

    def _message(self, raw: JSON) -> Message:
        return Message.model_validate(raw, context={"bot": self.tg.bot})

    @property
    def messages(self) -> list[Message]:
        """Every message of the chat, users' and bot's, oldest first (edits applied, deleted
        ones gone)."""
        return [self._message(raw) for raw in self._raw()]

    @property
    def last_message(self) -> Message | None:
        """The newest message of the chat, or None."""
        raw = self._raw()
        return self._message(raw[-1]) if raw else None

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """The reply keyboard the chat shows, as rows of key texts; None when there is none."""
        markup = self.tg.state.reply_keyboards.get(self.id)
        if markup is None:
            return None
        return [[key_text(key) for key in row] for row in markup["keyboard"]]

    def bot_messages(self) -> Snapshot:
        """The bot's messages by id, as the emulator holds them."""
        bot_id = self.tg.state.bot_id
        return {m["message_id"]: m for m in self._raw() if m["from"]["id"] == bot_id}

    def transcript(self) -> str:
        """The chat as text: who said what, buttons, failed calls."""
        return transcript(self.tg.state, self.id)


class TestUser:
    """A Telegram user: `await user.send("/start")`, `await user.click("Ping")`."""

    __test__ = False  # not a test class, despite its name

    def __init__(
        self,
        tg: BotTest,
        user_id: int,
        first_name: str,
        username: str | None = None,
        chat: TestChat | None = None,
        language_code: str = "en",
    ) -> None:
        self.tg = tg
        self.id = user_id
        self.first_name = first_name
        self.username = username
        self.language_code = language_code  # their Telegram app's language
        self.chat = chat or TestChat(tg, user_id, "private", None)

    def in_(self, chat: TestChat) -> TestUser:
        """This user acting in `chat` (a group), as a new object."""
        return TestUser(self.tg, self.id, self.first_name, self.username, chat, self.language_code)

    async def send(self, text: str) -> Reply:
        """Send `text` (a command such as "/start" too); returns the bot's reply once the bot
        has handled the message."""
        __tracebackhide__ = True
        return await self._act(
            lambda: self.tg.emulator.send_text(
                self.tg.token,
                text,
                chat_id=self.chat.id,
                user_id=self.id,
                chat_type=self.chat.type,
                first_name=self.first_name,
                username=self.username,
                chat_title=self.chat.title,
                language_code=self.language_code,
            ),
            f"the bot to handle {text!r} from {self.first_name}",
        )

    async def click(self, button: str) -> Reply:
        """Press a button by its text or callback data: an inline button of the newest bot
        message that has it, or else a key of the chat's reply keyboard (sent as text)."""
        __tracebackhide__ = True
        for message in reversed(self.chat.bot_messages().values()):
            for row in message.get("reply_markup", {}).get("inline_keyboard", []):
                for key in row:
                    if button in (key.get("text"), key.get("callback_data")):
                        return await self._press(message, key)
        keyboard = self.chat.reply_keyboard or []
        if any(button == key for row in keyboard for key in row):
            return await self.send(button)
        raise AssertionError(
            f"no button {button!r} to click in chat {self.chat.id}\n{self.chat.transcript()}"
        )

    async def _press(self, message: JSON, key: JSON) -> Reply:
        __tracebackhide__ = True
        if "callback_data" not in key:
            raise AssertionError(f"button {key.get('text')!r} sends no callback query: {key}")
        queries: list[str] = []

        def press() -> JSON:
            update = self.tg.emulator.press_button(
                self.tg.token, message, key["callback_data"], user_id=self.id
            )
            queries.append(update["callback_query"]["id"])
            return update

        reply = await self._act(press, f"the bot to handle the button {key['text']!r}")
        answer = self.tg.state.callback_queries.get(queries[0])
        if answer is not None:
            reply.toast, reply.show_alert = answer["text"] or None, bool(answer["show_alert"])
        return reply

    async def edit(self, message: Message, text: str) -> Reply:
        """Edit one of this user's messages; returns the bot's reply to the edit."""
        __tracebackhide__ = True
        return await self._act(
            lambda: self.tg.emulator.edit_user_message(
                self.tg.token, self.chat.id, message.message_id, text
            ),
            f"the bot to handle the edit {text!r}",
        )

    async def _act(self, action: Callable[[], JSON], what: str) -> Reply:
        __tracebackhide__ = True
        before = self.chat.bot_messages()
        calls = self.tg.state.calls
        last_seq = calls[-1].seq if calls else 0
        await self.tg.handle(action(), what)
        after = self.chat.bot_messages()
        return Reply(
            transcript=self.chat.transcript(),
            sent=[self.chat._message(after[i]) for i in sorted(after) if i not in before],
            edited=[
                self.chat._message(after[i])
                for i in sorted(after)
                if i in before and after[i] != before[i]
            ],
            deleted=[i for i in sorted(before) if i not in after],
            errors=[
                c
                for c in self.tg.state.calls
                if c.seq > last_seq and not c.ok and c.method != "getUpdates"
            ],
        )

    async def state(self) -> str | None:
        """The user's FSM state in this chat (None when there is none)."""
        return await self._fsm().get_state()

    async def data(self) -> dict[str, Any]:
        """The user's FSM data in this chat."""
        return await self._fsm().get_data()

    def _fsm(self) -> FSMContext:
        return self.tg.dispatcher.fsm.get_context(self.tg.bot, self.chat.id, self.id)

    def block_bot(self, blocked: bool = True) -> None:
        """Block the bot (or, with False, unblock it): what it sends this user fails with
        403 `Forbidden: bot was blocked by the user`. The user's own messages still arrive."""
        self.tg.emulator.block_bot(self.tg.token, self.id, blocked)
