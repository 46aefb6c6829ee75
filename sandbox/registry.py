"""Tokens to bots: any well-formed token is a bot of its own, created on first use."""

from __future__ import annotations

import re
from collections.abc import Callable

from sandbox.errors import unauthorized
from sandbox.records import EmulatorSettings, Signal
from sandbox.state import BotState

TOKEN = re.compile(r"(\d+):([A-Za-z0-9_-]+)")


class BotRegistry:
    """Holds one `BotState` per token."""

    def __init__(
        self,
        settings: EmulatorSettings,
        signal: Signal,
        on_new_bot: Callable[[BotState], None] = lambda _bot: None,
    ) -> None:
        self.settings = settings
        self.signal = signal
        self._on_new_bot = on_new_bot
        self._bots: dict[str, BotState] = {}

    def get(self, token: str) -> BotState:
        """The bot of `token`, created on first use; a malformed token is 401 Unauthorized."""
        bot = self._bots.get(token)
        if bot is not None:
            return bot
        match = TOKEN.fullmatch(token)
        if match is None:
            raise unauthorized()
        bot = BotState(token, int(match.group(1)), self.settings, self.signal)
        self._bots[token] = bot
        self._on_new_bot(bot)
        self.signal.notify()  # a page or a test may wait for a bot to appear
        return bot

    def by_id(self, bot_id: int) -> BotState:
        """The bot with this id (the most recent token with it); KeyError if none has called."""
        for bot in reversed(self._bots.values()):
            if bot.bot_id == bot_id:
                return bot
        raise KeyError(f"no bot with id {bot_id} has called the emulator")

    def all(self) -> list[BotState]:
        """Every bot seen so far."""
        return list(self._bots.values())
