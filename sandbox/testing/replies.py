"""`Reply`: what the bot did in a chat while it handled one user action."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiogram.types import Message

from sandbox.records import ApiCall


@dataclass
class Reply:
    """The bot's answer to one `send` or `click`: messages sent, edited and deleted in the
    chat, the button's toast, and the Bot API calls that failed meanwhile."""

    transcript: str = field(repr=False)  # the chat afterwards, for failure messages
    sent: list[Message] = field(default_factory=list)
    edited: list[Message] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    toast: str | None = None  # answerCallbackQuery's text, after a click
    show_alert: bool = False
    errors: list[ApiCall] = field(default_factory=list)

    def __repr__(self) -> str:
        toast = f", toast={self.toast!r}" if self.toast else ""
        errors = f", errors={[c.description for c in self.errors]}" if self.errors else ""
        return f"Reply(texts={self.texts}, edited_texts={self.edited_texts}{toast}{errors})"

    @property
    def message(self) -> Message:
        """The last message sent, or else the last one edited; fails if there is none."""
        __tracebackhide__ = True
        found = self.sent or self.edited
        if not found:
            failed = "".join(f"\n  {c.method}: {c.description}" for c in self.errors)
            raise AssertionError(
                "the bot sent no message and edited none"
                + (f"; failed calls:{failed}" if failed else "")
                + f"\n{self.transcript}"
            )
        return found[-1]

    @property
    def text(self) -> str:
        """The text of `message`: what the user reads as the answer."""
        return self.message.text or ""

    @property
    def texts(self) -> list[str]:
        """The texts of the messages sent, in order ([] when none)."""
        return [m.text or "" for m in self.sent]

    @property
    def edited_texts(self) -> list[str]:
        """The texts of the messages edited, as they read now."""
        return [m.text or "" for m in self.edited]

    @property
    def buttons(self) -> list[str]:
        """The inline buttons of `message`, row by row, by text."""
        markup = self.message.reply_markup
        rows = markup.inline_keyboard if markup is not None else []
        return [button.text for row in rows for button in row]
