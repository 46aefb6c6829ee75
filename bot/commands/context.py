"""What the doctor knows about one environment: the settings when they load, and otherwise
the raw values, so that a broken configuration still gets every check that can run."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from bot.config import KNOWN_KEYS, TOKEN_RE
from bot.settings import OFFICIAL_API_URL, Settings


@dataclass
class DoctorContext:
    """What the doctor knows about this environment, from Settings or, failing that, raw values."""

    root: Path
    env_file: Path
    env_file_exists: bool
    values: Mapping[str, str]  # env file + process environment + flags, unvalidated
    settings: Settings | None
    config_problems: list[str] = field(default_factory=list)

    @property
    def token(self) -> str | None:
        """The token if it is well-formed (usable for getMe even when other keys are wrong)."""
        if self.settings is not None:
            return self.settings.bot_token.get_secret_value()
        raw = self.values.get("BOT_TOKEN", "").strip()
        return raw if TOKEN_RE.match(raw) else None

    @property
    def bot_id(self) -> int | None:
        """The bot's id, the number before the colon of the token."""
        token = self.token
        return int(token.split(":", 1)[0]) if token else None

    @property
    def app_env(self) -> str:
        """`local` or `production` (as configured, or as the raw value says)."""
        if self.settings is not None:
            return self.settings.app_env
        return (self.values.get("APP_ENV") or "local").strip().lower()

    @property
    def mode(self) -> str:
        """`polling` or `webhook`."""
        if self.settings is not None:
            return self.settings.bot_mode
        raw = (self.values.get("BOT_MODE") or "").strip().lower()
        if raw in ("polling", "webhook"):
            return raw
        return "webhook" if self.app_env == "production" else "polling"

    @property
    def api_url(self) -> str | None:
        """The Bot API server's base URL, or None when the value is unusable."""
        if self.settings is not None:
            return self.settings.telegram_api_url
        raw = (self.values.get("TELEGRAM_API_URL") or OFFICIAL_API_URL).strip().rstrip("/")
        parts = urlsplit(raw)
        return raw if parts.scheme in ("http", "https") and parts.hostname else None

    @property
    def uses_official_api(self) -> bool:
        """True when the webhook rules of api.telegram.org apply."""
        return (self.api_url or OFFICIAL_API_URL) == OFFICIAL_API_URL

    @property
    def lock_dir(self) -> Path:
        """Where the polling lock files live."""
        if self.settings is not None:
            return self.settings.lock_dir
        raw = (self.values.get("LOCK_DIR") or "").strip()
        return Path(raw) if raw else Path(tempfile.gettempdir())

    @property
    def webhook_url(self) -> str | None:
        """WEBHOOK_BASE_URL + WEBHOOK_PATH, when a base URL is configured."""
        if self.settings is not None:
            return self.settings.webhook_url
        base = (self.values.get("WEBHOOK_BASE_URL") or "").strip()
        path = (self.values.get("WEBHOOK_PATH") or "/telegram/webhook").strip()
        return base.rstrip("/") + path if base else None

    @property
    def webhook_secret(self) -> str | None:
        """The configured secret_token, if any."""
        if self.settings is not None:
            secret = self.settings.webhook_secret
            return secret.get_secret_value() if secret is not None else None
        return (self.values.get("WEBHOOK_SECRET") or "").strip() or None


def raw_values(
    env_file: Path, environ: Mapping[str, str], flags: Mapping[str, str]
) -> dict[str, str]:
    """The configuration's raw values as load_settings would see them, without validation."""
    values: dict[str, str] = {}
    if env_file.is_file():
        try:
            values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
        except (OSError, UnicodeDecodeError):
            values = {}
    values.update({key: environ[key] for key in KNOWN_KEYS if key in environ})
    values.update(flags)
    return values
