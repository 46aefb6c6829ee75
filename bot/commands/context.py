"""What the doctor knows about one environment: the configuration as `read_settings` found it.

A configuration that does not load still gives a partial `Settings` (invalid values replaced
by their defaults), so every check that does not depend on a broken value still runs.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from bot.settings import ConfigRead, Settings, read_settings


@dataclass(frozen=True)
class DoctorContext:
    """The configuration of the environment being checked, valid or not."""

    root: Path
    read: ConfigRead

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DoctorContext:
        """Read the configuration named by the command line (never raises)."""
        return cls(args.root, read_settings(env=args.env, env_file=args.env_file, root=args.root))

    @property
    def config(self) -> Settings:
        """The settings, valid or partial: look at `usable()` before trusting a value."""
        return self.read.partial

    @property
    def settings(self) -> Settings | None:
        """The settings when the whole configuration is valid."""
        return self.read.settings

    def usable(self, field: str) -> bool:
        """False when the configured value of `field` was invalid (a default stands in)."""
        return field not in self.read.invalid

    @property
    def token(self) -> str | None:
        """The token if it is well-formed (usable for getMe even when other keys are wrong)."""
        token = self.config.bot_token
        return token.get_secret_value() if token is not None else None

    @property
    def bot_id(self) -> int | None:
        """The bot's id, the number before the colon of the token."""
        return self.config.bot_id if self.token else None

    @property
    def api_url(self) -> str | None:
        """The Bot API server's base URL, or None when the value is unusable."""
        return self.config.telegram_api_url if self.usable("telegram_api_url") else None

    @property
    def webhook_secret(self) -> str | None:
        """The configured secret_token, if any."""
        secret = self.config.webhook_secret
        return secret.get_secret_value() if secret is not None else None
