"""`Settings`: every key the bot reads, declared once, in sections.

Each field carries its type, default, limits and a one-line description; the docs'
configuration table is generated from these fields and a test holds `env/*.example` to them.
A setting your handlers need goes into `FeatureSettings` (with its line in both
`env/*.example` files); handlers receive the object as a `settings: Settings` argument.

Field names are the environment variables in lower case (`web_port` is `WEB_PORT`). Load it
with `bot.settings.load_settings()`, which reports every problem at once.
"""

from __future__ import annotations

import ipaddress
import re
import tempfile
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_core import PydanticUseDefault
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.settings import rules

PROJECT_ROOT = Path(__file__).resolve().parents[2]

AppEnv = Literal["local", "production"]
BotMode = Literal["polling", "webhook"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
# Lists are written `a,b,c` in env files, not as JSON.
CommaList = Annotated[tuple[str, ...], NoDecode]
IdList = Annotated[tuple[int, ...], NoDecode]
BOTH = ("local", "production")


# Given for a setting, it means "use the default": how the loader sets aside a bad value.
USE_DEFAULT = object()


def setting(
    default: Any = None,
    description: str = "",
    *,
    factory: Callable[[], Any] | None = None,
    shown_default: str | None = None,
    examples: tuple[str, ...] = BOTH,
    hint: str | None = None,
    **constraints: Any,
) -> Any:
    """A field with what the docs and the error messages need: `shown_default` replaces the
    default in the docs table, `examples` names the env examples that list the key, `hint`
    says what a valid value looks like; `factory` makes the default at load time."""
    extra: dict[str, Any] = {"env_examples": list(examples)}
    if shown_default is not None:
        extra["shown_default"] = shown_default
    if hint is not None:
        extra["hint"] = hint
    if factory is not None:
        return Field(default_factory=factory, description=description, json_schema_extra=extra)
    return Field(default, description=description, json_schema_extra=extra, **constraints)


def _under_project_root(path: Path | None) -> Path | None:
    # An IDE, a terminal and a service start in different folders: a relative path means
    # the same place for all of them.
    return path if path is None or path.is_absolute() else PROJECT_ROOT / path


class BotSettings(BaseModel):
    """Which bot, which environment, which mode."""

    bot_token: SecretStr | None = setting(
        None, "the bot's token from @BotFather; only ever shown masked", shown_default="required"
    )
    app_env: AppEnv = setting("local", "`local` or `production`: selects `.env.<APP_ENV>`")
    bot_mode: BotMode = setting(
        "polling",
        "`polling` (development) or `webhook` (production)",
        shown_default="`polling` in local, `webhook` in production",
    )
    telegram_api_url: str = setting(
        rules.OFFICIAL_API_URL, "the Bot API server: a local Bot API server, or the sandbox"
    )
    handlers_module: str = setting(
        "handlers", "the module whose `get_routers()` lists the bot's routers"
    )

    @field_validator("app_env", "bot_mode", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("bot_token")
    @classmethod
    def _token_format(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and (problem := rules.token_problem(value.get_secret_value())):
            raise ValueError(problem)
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if problem := rules.http_url_problem("TELEGRAM_API_URL", value):
            raise ValueError(problem)
        return value.rstrip("/")

    @field_validator("handlers_module")
    @classmethod
    def _module_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", value):
            raise ValueError(f"HANDLERS_MODULE={value!r} is not a module name, e.g. handlers.")
        return value


class WebhookSettings(BaseModel):
    """Production: where Telegram posts updates, and what the app accepts."""

    webhook_base_url: str | None = setting(
        None,
        "public base URL Telegram posts to, e.g. `https://bot.example.com`",
        shown_default="required in webhook mode",
        examples=("production",),
    )
    webhook_path: str = setting(
        "/telegram/webhook",
        "path of the webhook route",
        examples=("production",),
        hint="use a path such as /telegram/webhook",
    )
    webhook_secret: SecretStr | None = setting(
        None,
        "the `secret_token`: 1-256 of `A-Z a-z 0-9 _ -`",
        shown_default="required in webhook mode",
        examples=("production",),
    )
    webhook_max_connections: int = setting(
        40, "connections Telegram opens at once", examples=("production",), ge=1, le=100
    )
    webhook_max_body_bytes: int = setting(
        1024 * 1024,
        "largest accepted request body (larger: 413)",
        examples=("production",),
        ge=1024,
        le=64 * 1024 * 1024,
    )
    webhook_max_in_flight: int = setting(
        256,
        "updates handled at once per worker (past it: 503, Telegram retries)",
        examples=("production",),
        ge=1,
        le=100_000,
    )
    webhook_ip_allowlist: bool = setting(
        False, "accept webhook requests only from Telegram's networks", examples=("production",)
    )
    trusted_proxies: CommaList = setting(
        ("127.0.0.1", "::1"),
        "proxies whose `X-Forwarded-For` / `X-Real-IP` are believed (comma-separated)",
        examples=("production",),
    )
    drop_pending_updates: bool = setting(
        False, "drop waiting updates when the webhook is registered", examples=("production",)
    )
    web_host: str = setting(
        "127.0.0.1", "where the app listens when run without gunicorn", examples=("production",)
    )
    web_port: int = setting(
        8080, "the port it listens on then", examples=("production",), ge=1, le=65535
    )

    @field_validator("webhook_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and (problem := rules.http_url_problem("WEBHOOK_BASE_URL", value)):
            raise ValueError(problem)
        return value

    @field_validator("webhook_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or any(c in value for c in " ?#"):
            raise ValueError(
                f"WEBHOOK_PATH={value!r} is not valid: use a path such as /telegram/webhook."
            )
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_format(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and (problem := rules.secret_problem(value.get_secret_value())):
            raise ValueError(problem)
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        return _split_commas(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"TRUSTED_PROXIES entry {entry!r} is not an IP address or network: use "
                    "addresses or CIDR networks separated by commas, e.g. 127.0.0.1,::1."
                ) from None
        return value


class PollingSettings(BaseModel):
    """Development: one poller per bot, and what it does when another one appears."""

    lock_dir: Path = setting(
        factory=lambda: Path(tempfile.gettempdir()),
        description="folder of the polling lock files (relative: to the project root)",
        shown_default="the OS temp folder",
    )
    polling_conflict_grace: float = setting(
        30.0,
        "seconds a poller keeps retrying 409 Conflicts from another poller before exit 5",
        hint="a number of seconds from 0 to 86400, e.g. 30",
        ge=0,
        le=86400,
    )

    @field_validator("lock_dir")
    @classmethod
    def _lock_dir(cls, value: Path) -> Path:
        return _under_project_root(value) or value


class SharedSettings(BaseModel):
    """What both modes share: the shutdown, shared state."""

    shutdown_timeout: float = setting(
        30.0,
        "seconds in-flight handlers get to finish on Ctrl+C / SIGTERM",
        hint="a number of seconds from 0 to 86400, e.g. 30",
        ge=0,
        le=86400,
    )
    redis_url: SecretStr | None = setting(
        None,
        "Redis for FSM state and per-chat ordering shared by every worker (password never shown)",
        shown_default="unset",
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        url = value.get_secret_value()
        if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
            raise ValueError(
                f"REDIS_URL={rules.mask_url(url)!r} is not valid: use redis://host:6379/0 "
                "(or rediss:// or unix://)."
            )
        return value


class LoggingSettings(BaseModel):
    """Where log lines go, and how many."""

    log_level: LogLevel = setting("INFO", "`DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`")
    log_file: Path | None = setting(
        None,
        "optional rotating log file, 10 MiB x 5 (relative: to the project root)",
        shown_default="unset",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_file")
    @classmethod
    def _log_file(cls, value: Path | None) -> Path | None:
        return _under_project_root(value)


class FeatureSettings(BaseModel):
    """Your bot's own settings: add a field here, and its line to both env examples."""

    admin_ids: IdList = setting(
        (),
        "Telegram user ids allowed to use the admin commands (`/admin`), comma-separated",
        shown_default="none",
        hint="Telegram user ids separated by commas, e.g. 12345,67890",
    )

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        return _split_commas(value)


def _unset(value: Any) -> bool:
    return value is None or value is USE_DEFAULT or (isinstance(value, str) and not value.strip())


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


@dataclass(frozen=True)
class LoadOptions:
    """How `bot.settings.load_settings` is reading right now (see `loading.py`)."""

    environment: bool = True  # read the process environment (else flags and the file only)
    lenient: bool = False  # leave the rules between settings to the loader


LOAD_OPTIONS: ContextVar[LoadOptions] = ContextVar(
    "settings_load_options",
    default=LoadOptions(),  # noqa: B039 - frozen, so it cannot be changed in place
)
# The order of the sections in the docs.
SECTIONS: tuple[type[BaseModel], ...] = (
    BotSettings,
    WebhookSettings,
    PollingSettings,
    SharedSettings,
    LoggingSettings,
    FeatureSettings,
)


class Settings(
    BaseSettings,
    BotSettings,
    WebhookSettings,
    PollingSettings,
    SharedSettings,
    LoggingSettings,
    FeatureSettings,
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
        if isinstance(data, dict) and _unset(data.get("bot_mode")):
            app_env = data.get("app_env")
            production = isinstance(app_env, str) and app_env.strip().lower() == "production"
            data = {**data, "bot_mode": "webhook" if production else "polling"}
        return data

    @model_validator(mode="after")
    def _rules(self) -> Settings:
        if not LOAD_OPTIONS.get().lenient and (problems := rules.rule_problems(self)):
            raise ValueError("; ".join(problem for _, problem in problems))
        return self

    @property
    def env_file(self) -> Path | None:
        """The env file these settings were read from (None: the environment only)."""
        return self._env_file

    @property
    def token(self) -> str:
        """The bot's token (a loaded configuration always has one)."""
        if self.bot_token is None:
            raise rules.ConfigError([rules.TOKEN_MISSING])
        return self.bot_token.get_secret_value()

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
        if self.webhook_secret is None:
            raise rules.ConfigError([rules.SECRET_REQUIRED])
        return self.webhook_secret.get_secret_value()

    @property
    def uses_official_api(self) -> bool:
        """True when talking to api.telegram.org (and its webhook port rules apply)."""
        return self.telegram_api_url == rules.OFFICIAL_API_URL

    def secrets(self) -> list[str]:
        """Values that must never appear in logs or messages."""
        values = [s.get_secret_value() for s in (self.bot_token, self.webhook_secret) if s]
        if self.redis_url is not None:
            values.append(urlsplit(self.redis_url.get_secret_value()).password or "")
        return [value for value in values if value]
