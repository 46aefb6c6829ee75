"""The typed settings object: what every part of the bot reads, and nothing that loads it."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

OFFICIAL_API_URL = "https://api.telegram.org"

AppEnv = Literal["local", "production"]
BotMode = Literal["polling", "webhook"]


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment, validated."""

    bot_token: SecretStr
    app_env: AppEnv = "local"
    bot_mode: BotMode = "polling"
    telegram_api_url: str = OFFICIAL_API_URL
    webhook_base_url: str | None = None
    webhook_path: str = "/telegram/webhook"
    webhook_secret: SecretStr | None = None
    webhook_max_connections: int = 40
    webhook_max_body_bytes: int = 1024 * 1024
    webhook_max_in_flight: int = 256
    webhook_ip_allowlist: bool = False
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    drop_pending_updates: bool = False
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    redis_url: str | None = None
    lock_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    polling_conflict_grace: float = 30.0
    shutdown_timeout: float = 30.0
    log_level: str = "INFO"
    log_file: Path | None = None
    handlers_module: str = "handlers"
    env_file: Path | None = None

    @property
    def bot_id(self) -> int:
        """The numeric part of the token: the bot's Telegram user id."""
        return int(self.bot_token.get_secret_value().split(":", 1)[0])

    @property
    def masked_token(self) -> str:
        """The token as it may be shown: the bot id only."""
        return mask_token(self.bot_token.get_secret_value())

    @property
    def webhook_url(self) -> str | None:
        """The full public URL Telegram posts updates to."""
        if not self.webhook_base_url:
            return None
        return self.webhook_base_url.rstrip("/") + self.webhook_path

    @property
    def uses_official_api(self) -> bool:
        """True when talking to api.telegram.org (and its webhook port rules apply)."""
        return self.telegram_api_url.rstrip("/") == OFFICIAL_API_URL

    def secrets(self) -> list[str]:
        """Values that must never appear in logs or messages."""
        values = [self.bot_token.get_secret_value()]
        if self.webhook_secret is not None:
            values.append(self.webhook_secret.get_secret_value())
        return [value for value in values if value]


def mask_token(token: str) -> str:
    """`123456:ABC...` -> `123456:***`; anything unrecognisable -> `***`."""
    head, sep, _ = token.partition(":")
    return f"{head}:***" if sep and head.isdigit() else "***"
