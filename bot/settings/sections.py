"""The sections of the settings the runtime reads: the bot, webhook, polling, both modes,
logging. Your own settings go in `handlers/settings.py`."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr, field_validator

from bot.settings import rules
from bot.settings.fields import (
    AppEnv,
    BotMode,
    CommaList,
    LogFormat,
    LogLevel,
    default_lock_dir,
    setting,
    split_commas,
    under_project_root,
)


class BotSettings(BaseModel):
    """The bot: which token, which environment, which mode."""

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
    """Webhook (production): where Telegram posts updates, and what the app accepts."""

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
    web_read_timeout: float = setting(
        10.0,
        "seconds a connection may take to send a request's headers, and again its body",
        examples=("production",),
        hint="a number of seconds from 1 to 300, e.g. 10",
        ge=1,
        le=300,
    )
    web_max_connections: int = setting(
        200,
        "connections the app serves at once without gunicorn (more are closed at once)",
        examples=("production",),
        ge=1,
        le=100_000,
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
        return split_commas(value)

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
    """Polling (development): one poller per bot, and what it does when another appears."""

    lock_dir: Path = setting(
        factory=default_lock_dir,
        description="folder of the polling lock files (relative: to the project root)",
        shown_default="a folder of your account alone (your runtime folder, e.g. "
        "`/run/user/1000/telegram-bot`, `%LOCALAPPDATA%\\Temp\\telegram-bot`)",
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
        return under_project_root(value) or value


class SharedSettings(BaseModel):
    """Both modes: the graceful stop."""

    shutdown_timeout: float = setting(
        30.0,
        "seconds in-flight handlers get to finish on Ctrl+C / SIGTERM",
        hint="a number of seconds from 0 to 86400, e.g. 30",
        ge=0,
        le=86400,
    )


class LoggingSettings(BaseModel):
    """Logging: how much, in which format, and where besides the console."""

    log_level: LogLevel = setting("INFO", "`DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`")
    log_file: Path | None = setting(
        None,
        "optional rotating log file, 10 MiB x 5 (relative: to the project root)",
        shown_default="unset",
    )
    log_format: LogFormat = setting(
        "text",
        "`text` (a readable line) or `json` (one JSON object per line, for log shippers)",
    )

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_file")
    @classmethod
    def _log_file(cls, value: Path | None) -> Path | None:
        return under_project_root(value)
