"""Typed settings, read once from flags, the process environment and the `.env.*` file.

Precedence, highest first: command-line flags, process environment, the env file, defaults.
Every problem is collected and reported at once, each with its fix; nothing starts half-configured.
This module does not import aiogram, so a bad configuration is reported in well under a second.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import SecretStr

from bot.settings import OFFICIAL_API_URL, Settings, mask_token

__all__ = ["PROJECT_ROOT", "ConfigError", "Settings", "load_settings", "mask_token"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Telegram only delivers webhooks to these ports (Bot API docs, setWebhook).
TELEGRAM_WEBHOOK_PORTS = (443, 80, 88, 8443)
TOKEN_RE = re.compile(r"^(\d{1,20}):[A-Za-z0-9_-]{1,128}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

T = TypeVar("T")


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists each one with its fix."""

    def __init__(self, problems: list[str], env_file: Path | None = None) -> None:
        self.problems = problems
        self.env_file = env_file
        super().__init__(self.report())

    def report(self) -> str:
        """The text shown to the person running the bot."""
        source = f" (env file: {self.env_file})" if self.env_file else ""
        count = len(self.problems)
        lines = [f"Invalid configuration{source}: {count} problem{'s' if count != 1 else ''}."]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


def resolve_env_file(
    env: str | None, env_file: str | Path | None, environ: Mapping[str, str], root: Path
) -> tuple[Path, bool]:
    """Which env file to read, and whether it was named explicitly (`--env-file`)."""
    if env_file is not None:
        return Path(env_file), True
    app_env = env or environ.get("APP_ENV") or "local"
    return root / f".env.{app_env}", False


def load_settings(
    env: str | None = None,
    env_file: str | Path | None = None,
    overrides: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    root: Path = PROJECT_ROOT,
) -> Settings:
    """Build the settings from flags (`env`, `env_file`, `overrides` by variable name),
    the process environment and the env file; raise ConfigError listing every problem."""
    environ = os.environ if environ is None else environ
    path, explicit = resolve_env_file(env, env_file, environ, root)
    problems: list[str] = []
    file_values: dict[str, str] = {}
    if path.is_file():
        try:
            file_values = {k: v for k, v in dotenv_values(path).items() if v is not None}
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path} cannot be read ({exc}); check its permissions and encoding.")
    elif explicit:
        problems.append(f"The env file {path} does not exist; check the --env-file path.")

    flags = dict(overrides or {})
    if env is not None:
        flags["APP_ENV"] = env
    values: dict[str, str] = {**file_values, **_known(environ), **flags}
    reader = _Reader(values, problems)
    settings = _build(reader, path if path.is_file() else None)

    if problems:
        if not path.is_file() and not explicit:
            example = root / "env" / f"{path.name}.example"
            problems.insert(
                0,
                f"No {path.name} found in {path.parent}: copy {example.relative_to(root)} to "
                f"{path.name} and fill it in (or set the variables in the environment).",
            )
        raise ConfigError(problems, path if path.is_file() else None)
    assert settings is not None
    return settings


KNOWN_KEYS = (
    "BOT_TOKEN",
    "APP_ENV",
    "BOT_MODE",
    "TELEGRAM_API_URL",
    "WEBHOOK_BASE_URL",
    "WEBHOOK_PATH",
    "WEBHOOK_SECRET",
    "WEBHOOK_MAX_CONNECTIONS",
    "WEBHOOK_MAX_BODY_BYTES",
    "WEBHOOK_MAX_IN_FLIGHT",
    "WEBHOOK_IP_ALLOWLIST",
    "TRUSTED_PROXIES",
    "DROP_PENDING_UPDATES",
    "WEB_HOST",
    "WEB_PORT",
    "REDIS_URL",
    "LOCK_DIR",
    "POLLING_CONFLICT_GRACE",
    "SHUTDOWN_TIMEOUT",
    "LOG_LEVEL",
    "LOG_FILE",
    "HANDLERS_MODULE",
)


def _known(environ: Mapping[str, str]) -> dict[str, str]:
    # Only the bot's own keys are read from the process environment; PATH and the rest of it
    # have no business in the settings.
    return {key: environ[key] for key in KNOWN_KEYS if key in environ}


class _Reader:
    """Reads one key at a time, converting it and recording problems instead of raising."""

    def __init__(self, values: Mapping[str, str], problems: list[str]) -> None:
        self.values = values
        self.problems = problems

    def get(self, key: str) -> str | None:
        value = self.values.get(key)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def convert(self, key: str, default: T, parse: Callable[[str], T], hint: str) -> T:
        raw = self.get(key)
        if raw is None:
            return default
        try:
            return parse(raw)
        except ValueError:
            self.problems.append(f"{key}={raw!r} is not valid: {hint}.")
            return default

    def choice(self, key: str, default: str, options: tuple[str, ...]) -> str:
        raw = self.get(key)
        if raw is None:
            return default
        if raw.lower() in options:
            return raw.lower()
        self.problems.append(f"{key}={raw!r} is not valid: use one of {', '.join(options)}.")
        return default


def _parse_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def _parse_int_range(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        number = int(raw)
        if not low <= number <= high:
            raise ValueError(raw)
        return number

    return parse


def _parse_seconds(raw: str) -> float:
    number = float(raw)
    if not 0 <= number <= 24 * 3600:
        raise ValueError(raw)
    return number


def _http_url_problem(key: str, url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{key}={url!r} is not valid: use a full URL such as https://bot.example.com."
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"{key}={url!r} has an invalid port."
    return None


def _build(r: _Reader, env_file: Path | None) -> Settings | None:
    problems = r.problems
    defaults = Settings(bot_token=SecretStr(""))

    token = r.get("BOT_TOKEN")
    if token is None:
        problems.append(
            "BOT_TOKEN is missing: get one from @BotFather (/newbot) and set BOT_TOKEN=<token>."
        )
    elif not TOKEN_RE.match(token):
        problems.append(
            f"BOT_TOKEN ({mask_token(token)}) is malformed: a token looks like "
            "123456789:AAH... (digits, a colon, then letters, digits, _ or -); "
            "copy it again from @BotFather without quotes or spaces."
        )

    app_env = r.choice("APP_ENV", "local", ("local", "production"))
    default_mode = "webhook" if app_env == "production" else "polling"
    mode = r.choice("BOT_MODE", default_mode, ("polling", "webhook"))

    api_url = r.get("TELEGRAM_API_URL") or OFFICIAL_API_URL
    if problem := _http_url_problem("TELEGRAM_API_URL", api_url):
        problems.append(problem)
    official = api_url.rstrip("/") == OFFICIAL_API_URL

    webhook_path = r.get("WEBHOOK_PATH") or defaults.webhook_path
    if not webhook_path.startswith("/") or any(c in webhook_path for c in " ?#"):
        problems.append(
            f"WEBHOOK_PATH={webhook_path!r} is not valid: use a path such as /telegram/webhook."
        )

    base_url = r.get("WEBHOOK_BASE_URL")
    secret = r.get("WEBHOOK_SECRET")
    if secret is not None and not SECRET_RE.match(secret):
        problems.append(
            "WEBHOOK_SECRET has characters Telegram refuses: use 1-256 of A-Z a-z 0-9 _ -, "
            'e.g. python -c "import secrets; print(secrets.token_urlsafe(32))".'
        )
    if mode == "webhook":
        if base_url is None:
            problems.append(
                "WEBHOOK_BASE_URL is required in webhook mode: set it to the public https URL "
                "of this server, e.g. https://bot.example.com."
            )
        if secret is None:
            problems.append(
                "WEBHOOK_SECRET is required in webhook mode: generate one with "
                'python -c "import secrets; print(secrets.token_urlsafe(32))".'
            )
    if base_url is not None:
        if problem := _http_url_problem("WEBHOOK_BASE_URL", base_url):
            problems.append(problem)
        elif official:
            parts = urlsplit(base_url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            if parts.scheme != "https":
                problems.append(
                    f"WEBHOOK_BASE_URL={base_url!r} must use https: Telegram only delivers "
                    "webhooks over TLS (get a certificate with certbot, see the README)."
                )
            elif port not in TELEGRAM_WEBHOOK_PORTS:
                problems.append(
                    f"WEBHOOK_BASE_URL uses port {port}, which Telegram refuses: use 443, 80, 88 "
                    "or 8443 (nginx listens there and proxies to the app)."
                )

    lock_dir_raw = r.get("LOCK_DIR")
    log_file_raw = r.get("LOG_FILE")
    redis_url = r.get("REDIS_URL")
    if redis_url is not None and urlsplit(redis_url).scheme not in ("redis", "rediss", "unix"):
        problems.append(
            f"REDIS_URL={redis_url!r} is not valid: use redis://host:6379/0 "
            "(or rediss:// or unix://)."
        )
    proxies_raw = r.get("TRUSTED_PROXIES")
    trusted_proxies = (
        tuple(p.strip() for p in proxies_raw.split(",") if p.strip())
        if proxies_raw is not None
        else defaults.trusted_proxies
    )
    for entry in trusted_proxies:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            problems.append(
                f"TRUSTED_PROXIES entry {entry!r} is not an IP address or network: use "
                "addresses or CIDR networks separated by commas, e.g. 127.0.0.1,::1."
            )
    log_level = r.choice("LOG_LEVEL", "info", tuple(level.lower() for level in LOG_LEVELS))

    settings = Settings(
        bot_token=SecretStr(token or ""),
        app_env="production" if app_env == "production" else "local",
        bot_mode="webhook" if mode == "webhook" else "polling",
        telegram_api_url=api_url.rstrip("/"),
        webhook_base_url=base_url,
        webhook_path=webhook_path,
        webhook_secret=SecretStr(secret) if secret is not None else None,
        webhook_max_connections=r.convert(
            "WEBHOOK_MAX_CONNECTIONS", 40, _parse_int_range(1, 100), "a whole number 1-100"
        ),
        webhook_max_body_bytes=r.convert(
            "WEBHOOK_MAX_BODY_BYTES",
            defaults.webhook_max_body_bytes,
            _parse_int_range(1024, 64 * 1024 * 1024),
            "a number of bytes from 1024 to 67108864",
        ),
        webhook_max_in_flight=r.convert(
            "WEBHOOK_MAX_IN_FLIGHT", 256, _parse_int_range(1, 100_000), "a whole number >= 1"
        ),
        webhook_ip_allowlist=r.convert("WEBHOOK_IP_ALLOWLIST", False, _parse_bool, "true or false"),
        trusted_proxies=trusted_proxies,
        drop_pending_updates=r.convert("DROP_PENDING_UPDATES", False, _parse_bool, "true or false"),
        web_host=r.get("WEB_HOST") or defaults.web_host,
        web_port=r.convert("WEB_PORT", 8080, _parse_int_range(1, 65535), "a port 1-65535"),
        redis_url=redis_url,
        lock_dir=Path(lock_dir_raw) if lock_dir_raw else defaults.lock_dir,
        polling_conflict_grace=r.convert(
            "POLLING_CONFLICT_GRACE", 30.0, _parse_seconds, "a number of seconds, e.g. 30"
        ),
        shutdown_timeout=r.convert(
            "SHUTDOWN_TIMEOUT", 30.0, _parse_seconds, "a number of seconds, e.g. 30"
        ),
        log_level=log_level.upper(),
        log_file=Path(log_file_raw) if log_file_raw else None,
        handlers_module=r.get("HANDLERS_MODULE") or defaults.handlers_module,
        env_file=env_file,
    )
    return None if problems else settings
