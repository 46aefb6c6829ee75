"""Recording a conversation in the chat page, and exporting it as a pytest test.

Each user action (a message, a button) is a step; its replies are what changed among the
bot's messages in that chat until the next step: messages sent, edited, deleted, the answer
to a button, the reply keyboard. The exported test replays the steps through the `tg` fixture
of `sandbox.testing` and asserts the same replies, so a bug seen by hand becomes a test.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from sandbox.state import BotState
from sandbox.views import key_text

JSON = dict[str, Any]
Snapshot = dict[int, JSON]
# The project's line length (ruff), and how much of a long text goes on one line.
LINE_LENGTH = 100
PIECE_LENGTH = 80


@dataclass
class Step:
    """One user action and, once the next one starts, what the bot did about it."""

    user: JSON  # {"id", "first_name"}
    chat: JSON  # the Chat
    action: str  # "send", or "click" (an inline button, or a reply keyboard key)
    text: str  # what was sent, or the button's text
    callback_data: str | None = None
    query_id: str | None = None
    before: Snapshot = field(default_factory=dict)
    after: Snapshot | None = None
    keyboard_before: JSON | None = None
    keyboard_after: JSON | None = None


class Recording:
    """The steps recorded for one bot since the page's Record button was pressed."""

    def __init__(self, bot: BotState) -> None:
        self.bot = bot
        self.steps: list[Step] = []
        self.started = time.localtime()

    def record(self, step: Step) -> None:
        """Close the previous step (its replies are in) and start `step`."""
        self.finish()
        step.before = self._snapshot(step.chat["id"])
        step.keyboard_before = self.bot.reply_keyboards.get(step.chat["id"])
        self.steps.append(step)

    def finish(self) -> None:
        """Take the replies of the last step as they are now."""
        if self.steps and self.steps[-1].after is None:
            last = self.steps[-1]
            last.after = self._snapshot(last.chat["id"])
            last.keyboard_after = self.bot.reply_keyboards.get(last.chat["id"])

    def _snapshot(self, chat_id: int) -> Snapshot:
        messages = self.bot.messages.get(chat_id, {})
        return {i: m for i, m in messages.items() if m["from"]["id"] == self.bot.bot_id}

    def export(self) -> str:
        """The recording as the source of a pytest module."""
        self.finish()
        return TestWriter(self).source()


class TestWriter:
    """Writes a recording as a test that reads like one written by hand."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.bot = recording.bot
        self.variables: dict[int, str] = {}  # user or group chat id -> its variable
        self.lines: list[str] = []

    def source(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", self.recording.started)
        head = [
            f'"""A conversation recorded in the sandbox chat page on {when}, replayed against',
            "the bot: it fails when a reply changes. Keep it under tests/ and run it with",
            '`python -m pytest tests/<this file>`."""',
            "",
            "import pytest",
            "",
            "from sandbox.testing import BotTest",
            "",
        ]
        plugins = self.bot.settings.test_plugins
        if plugins:
            # So that it runs from any folder too (the project's conftest enables these).
            head += [f"pytest_plugins = {json.dumps(list(plugins))}", ""]
        head += self._bot_settings()
        head += [
            "",
            "@pytest.mark.asyncio",
            "async def test_recorded_conversation(tg: BotTest) -> None:",
        ]
        for step in self.recording.steps:
            self._step(step)
        if not self.recording.steps:
            self.lines.append("    pass  # nothing was recorded")
        return "\n".join(head + self.lines) + "\n"

    def _bot_settings(self) -> list[str]:
        """The `bot_settings` fixture, where the recorded bot ran with settings of its own (its
        handlers): so the test replays against the handlers that gave these replies."""
        values = self.bot.settings.test_settings
        if not values:
            return []
        items = [f"        {_literal(key)}: {_literal(value)}," for key, value in values]
        return [
            "",
            "@pytest.fixture",
            "def bot_settings() -> dict[str, str]:",
            "    return {",
            *items,
            "    }",
            "",
        ]

    def _variable(self, key: int, name: str, definition: str) -> str:
        if key not in self.variables:
            self.variables[key] = _identifier(name, set(self.variables.values()))
            self.lines.append(f"    {self.variables[key]} = {definition}")
        return self.variables[key]

    def _actor(self, step: Step) -> str:
        """The expression for the user acting in the step's chat."""
        name, user_id = step.user["first_name"], step.user["id"]
        user = self._variable(user_id, name, f"tg.user({_literal(name)}, user_id={user_id})")
        if step.chat["type"] == "private":
            return user
        title, chat_id = step.chat.get("title") or "", step.chat["id"]
        group = self._variable(
            chat_id, title or "group", f"tg.group({_literal(title)}, chat_id={chat_id})"
        )
        return f"{user}.in_({group})"

    def _step(self, step: Step) -> None:
        actor = self._actor(step)
        self.lines.append("")
        if step.action == "click":
            self._emit(f"reply = await {actor}.click(", self._button(step), ")")
        else:
            self._emit(f"reply = await {actor}.send(", step.text, ")")
        before, after = step.before, step.after or {}
        sent = [after[i] for i in sorted(after) if i not in before]
        edited = [after[i] for i in sorted(after) if i in before and after[i] != before[i]]
        deleted = [i for i in sorted(before) if i not in after]
        answer = self.bot.callback_queries.get(step.query_id or "")
        if answer is not None and answer.get("text"):
            self._emit("assert reply.toast == ", answer["text"])
        self._emit("assert reply.texts == ", [m.get("text", "") for m in sent])
        if edited:
            self._emit("assert reply.edited_texts == ", [m.get("text", "") for m in edited])
        if deleted:
            self.lines.append(f"    assert len(reply.deleted) == {len(deleted)}")
        shown = sent or edited
        if shown and shown[-1].get("reply_markup"):
            self._emit("assert reply.buttons == ", _buttons(shown[-1]))
        if step.keyboard_after != step.keyboard_before:
            keys = _reply_keys(step.keyboard_after)
            compare = "is" if keys == "None" else "=="
            self.lines.append(f"    assert {actor}.chat.reply_keyboard {compare} {keys}")

    def _emit(self, head: str, value: str | list[str], tail: str = "") -> None:
        """`head` + the value as a literal + `tail`, split over lines to fit in 100 columns."""
        items = value if isinstance(value, list) else [value]
        flat = ", ".join(_literal(item) for item in items)
        line = f"    {head}{f'[{flat}]' if isinstance(value, list) else flat}{tail}"
        if len(line) <= LINE_LENGTH:
            self.lines.append(line)
            return
        opening, closing = ("[", "]") if isinstance(value, list) else ("(", ")")
        self.lines.append(f"    {head}{opening}")
        for item in items:
            pieces = [_literal(piece) for piece in _pieces(item)]
            self.lines += [f"        {piece}" for piece in pieces]
            if isinstance(value, list):
                self.lines[-1] += ","
        self.lines.append(f"    {closing}{tail}")

    def _button(self, step: Step) -> str:
        """The button's text, or its callback data where the text is not unique."""
        if step.callback_data is None:
            return step.text
        message = next(
            (m for m in step.before.values() if step.callback_data in _callback_data(m)), None
        )
        texts = _buttons(message) if message is not None else []
        return step.text if texts.count(step.text) == 1 else step.callback_data


def _buttons(message: JSON) -> list[str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [str(button.get("text", "")) for row in rows for button in row]


def _callback_data(message: JSON) -> list[str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [str(button.get("callback_data")) for row in rows for button in row]


def _reply_keys(keyboard: JSON | None) -> str:
    if keyboard is None:
        return "None"
    rows = [[key_text(key) for key in row] for row in keyboard["keyboard"]]
    return json.dumps(rows, ensure_ascii=False)


def _literal(text: str) -> str:
    # A JSON string without ASCII escaping is a valid Python literal, in double quotes as
    # ruff formats them.
    return json.dumps(text, ensure_ascii=False)


def _pieces(text: str) -> list[str]:
    """`text` cut after line breaks, and long lines after a space, for implicit concatenation."""
    pieces: list[str] = []
    for line in text.splitlines(keepends=True) or [""]:
        while len(line) > PIECE_LENGTH and " " in line[:PIECE_LENGTH]:
            cut = line.rindex(" ", 0, PIECE_LENGTH) + 1
            pieces.append(line[:cut])
            line = line[cut:]
        pieces.append(line)
    return pieces


def _identifier(name: str, taken: set[str]) -> str:
    base = re.sub(r"\W+", "_", name.lower()).strip("_") or "user"
    if base[0].isdigit() or base in {"tg", "reply", "pytest"}:
        base = f"user_{base}"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate
