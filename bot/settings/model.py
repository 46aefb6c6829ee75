"""`Settings`: every key the bot reads, one class made of the sections.

Each field carries its type, default, limits and a one-line description (`sections.py` for
the runtime's, `handlers/settings.py` for your bot's own); the docs' configuration table is
generated from these fields and a test holds `env/*.example` to them. Field names are the
environment variables in lower case (`web_port` is `WEB_PORT`). Load it with
`bot.settings.load_settings()`, which reports every problem at once.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_core import PydanticUseDefault
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.settings import rules
# copier: if database
from bot.settings.database_section import DatabaseSettings
# copier: endif
from bot.settings.fields import USE_DEFAULT, Section, unset
from bot.settings.flood import FloodSettings
from bot.settings.observability import ObservabilitySettings
# copier: if redis
from bot.settings.redis_section import RedisSettings
# copier: endif
from bot.settings.sections import (
    BotSettings,
    LoggingSettings,
    PollingSettings,
    SharedSettings,
    WebhookSettings,
)
from bot.settings.throttle import ThrottleSettings
from bot.settings.user import feature_settings

__all__ = ["LOAD_OPTIONS", "SECTIONS", "LoadOptions", "Settings"]


@dataclass(frozen=True)
class LoadOptions:
    """How `bot.settings.load_settings` is reading right now (see `loading.py`)."""

    environment: bool = True  # read the process environment (else flags and the file only)
    lenient: bool = False  # leave the rules between settings to the loader


LOAD_OPTIONS: ContextVar[LoadOptions] = ContextVar(
    "settings_load_options",
    default=LoadOptions(),  # noqa: B039 - frozen, so it cannot be changed in place
)


if TYPE_CHECKING:
    from handlers.settings import FeatureSettings
else:
    FeatureSettings = feature_settings()  # yours, read without importing the rest of handlers/


class Settings(
    BaseSettings,
    BotSettings,
    WebhookSettings,
    PollingSettings,
    SharedSettings,
    # copier: if redis
    RedisSettings,
    # copier: endif
    # copier: if database
    DatabaseSettings,
    # copier: endif
    FloodSettings,
    ThrottleSettings,
    LoggingSettings,
    ObservabilitySettings,
    FeatureSettings,
    Section,  # the hooks' base: last, so that every section's override comes before it
):
    """Everything the bot reads from its environment, validated."""

    model_config = SettingsConfigDict(
        case_sensitive=False,
        env_ignore_empty=True,  # `KEY=` in an env file means "not set"
        env_file_encoding="utf-8-sig",  # Notepad and PowerShell 5.1 write a BOM
        extra="ignore",
        frozen=True,
    )
    _env_file: Path | None = PrivateAttr(None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags (init arguments) > process environment > the env file > defaults."""
        if LOAD_OPTIONS.get().environment:
            return init_settings, env_settings, dotenv_settings
        return init_settings, dotenv_settings

    @field_validator("*", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        if value is USE_DEFAULT or (isinstance(value, str) and not value.strip()):
            raise PydanticUseDefault  # `KEY=   ` is not set either
        return value.strip() if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def _mode_follows_environment(cls, data: Any) -> Any:
        # BOT_MODE's default depends on APP_ENV: webhook in production, polling elsewhere.
        if isinstance(data, dict) and unset(data.get("bot_mode")):
            app_env = data.get("app_env")
            production = isinstance(app_env, str) and app_env.strip().lower() == "production"
            data = {**data, "bot_mode": "webhook" if production else "polling"}
        return data

    @model_validator(mode="after")
    def _rules(self) -> Settings:
        if not LOAD_OPTIONS.get().lenient and (problems := self.rule_problems()):
            raise ValueError("; ".join(problem for _, problem in problems))
        return self

    def rule_problems(self) -> list[tuple[str, str]]:
        """(key, problem) for every rule between settings that these values break."""
        problems: list[tuple[str, str]] = []
        if self.bot_token is None:
            problems.append(("BOT_TOKEN", rules.TOKEN_MISSING))
        if self.bot_mode == "webhook":
            if self.webhook_base_url is None:
                problems.append(("WEBHOOK_BASE_URL", rules.BASE_URL_REQUIRED))
            if self.webhook_secret is None:
                problems.append(("WEBHOOK_SECRET", rules.SECRET_REQUIRED))
        # A local Bot API server or the sandbox delivers anywhere; api.telegram.org does not.
        base_url = self.webhook_base_url
        if base_url and self.uses_official_api and (refusal := rules.telegram_refusal(base_url)):
            problems.append(("WEBHOOK_BASE_URL", refusal))
        return problems + self.section_problems()

    @property
    def env_file(self) -> Path | None:
        """The env file these settings were read from (None: the environment only)."""
        return self._env_file

    @property
    def token(self) -> str:
        """The bot's token (a loaded configuration always has one)."""
        return _required(self.bot_token, rules.TOKEN_MISSING)

    @property
    def bot_id(self) -> int:
        """The numeric part of the token: the bot's Telegram user id."""
        return int(self.token.split(":", 1)[0])

    @property
    def masked_token(self) -> str:
        """The token as it may be shown: the bot id only."""
        return rules.mask_token(self.token) if self.bot_token is not None else "(no token)"

    @property
    def webhook_url(self) -> str | None:
        """The full public URL Telegram posts updates to."""
        if not self.webhook_base_url:
            return None
        return self.webhook_base_url.rstrip("/") + self.webhook_path

    @property
    def webhook_secret_value(self) -> str:
        """The webhook secret (webhook mode always has one)."""
        return _required(self.webhook_secret, rules.SECRET_REQUIRED)

    @property
    def uses_official_api(self) -> bool:
        """True when talking to api.telegram.org (and its webhook port rules apply)."""
        return self.telegram_api_url == rules.OFFICIAL_API_URL

    def secrets(self) -> list[str]:
        """Values that must never appear in logs or messages."""
        values = [s.get_secret_value() for s in (self.bot_token, self.webhook_secret) if s]
        values += self.section_secrets()
        values.append(self.sentry_key())
        return [value for value in values if value]


# The sections, in the order of the Settings bases (the order of the docs' tables).
SECTIONS: tuple[type[BaseModel], ...] = tuple(
    base
    for base in Settings.__bases__
    if issubclass(base, BaseModel) and base not in (BaseSettings, Section)
)


def _required(value: SecretStr | None, missing: str) -> str:
    # Settings built in code (tests, benchmarks) may lack what a loaded configuration has.
    if value is None:
        raise rules.ConfigError([missing])
    return value.get_secret_value()
