"""What the configuration refuses, and how each refusal is worded: one place for every rule.

The settings' validators raise these messages, and `doctor` reports the same ones, so a rule
and its fix are written once. Messages never contain a secret: the token is shown masked
(`123456:***`), a URL's password as `***`, the webhook secret not at all.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

OFFICIAL_API_URL = "https://api.telegram.org"
# Telegram only delivers webhooks to these ports (Bot API docs, setWebhook).
TELEGRAM_WEBHOOK_PORTS = (443, 80, 88, 8443)
# Seconds Telegram waits for a webhook's answer: what a handler may take at most.
TELEGRAM_ANSWER_TIMEOUT = 60
TOKEN_FORMAT = re.compile(r"^(\d{1,20}):[A-Za-z0-9_-]{1,128}$")
SECRET_FORMAT = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
KEYGEN_COMMAND = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


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


def mask_token(token: str) -> str:
    """`123456:ABC...` -> `123456:***`; anything unrecognisable -> `***`."""
    head, sep, _ = token.partition(":")
    return f"{head}:***" if sep and head.isdigit() else "***"


def mask_url(url: str) -> str:
    """The URL with its password (if any) replaced by `***`: safe to log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


# -- one value at a time (the fields' validators) ------------------------------------------


def token_problem(token: str) -> str | None:
    """Why BOT_TOKEN is unusable, or None."""
    if TOKEN_FORMAT.match(token):
        return None
    return (
        f"BOT_TOKEN ({mask_token(token)}) is malformed: a token looks like 123456789:AAH... "
        "(digits, a colon, then letters, digits, _ or -); copy it again from @BotFather "
        "without quotes or spaces."
    )


def secret_problem(secret: str) -> str | None:
    """Why WEBHOOK_SECRET is unusable, or None."""
    if SECRET_FORMAT.match(secret):
        return None
    return (
        "WEBHOOK_SECRET has characters Telegram refuses: use 1-256 of A-Z a-z 0-9 _ -, "
        f"e.g. {KEYGEN_COMMAND}."
    )


def http_url_problem(key: str, url: str) -> str | None:
    """Why `url` is not a usable http(s) URL, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{key}={url!r} is not valid: use a full URL such as https://bot.example.com."
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"{key}={url!r} has an invalid port."
    return None


def telegram_refusal(base_url: str) -> str | None:
    """Why api.telegram.org would refuse this webhook URL (https on 443/80/88/8443 only)."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if parts.scheme != "https":
        return (
            f"WEBHOOK_BASE_URL={base_url!r} must use https: Telegram only delivers webhooks "
            "over TLS (get a certificate with certbot, see the deploy guide)."
        )
    if port not in TELEGRAM_WEBHOOK_PORTS:
        return (
            f"WEBHOOK_BASE_URL uses port {port}, which Telegram refuses: use 443, 80, 88 or "
            "8443 (nginx listens there and proxies to the app)."
        )
    return None


# -- the rules between values (Settings.rule_problems) ---------------------------------------

TOKEN_MISSING = (
    "BOT_TOKEN is missing: get one from @BotFather (/newbot) and set BOT_TOKEN=<token> in "  # noqa: S105
    "the env file or the environment."
)
# copier: if sandbox
TOKEN_MISSING += " Or try the bot first without one: `python run.py --sandbox`."
# copier: endif
BASE_URL_REQUIRED = (
    "WEBHOOK_BASE_URL is required in webhook mode: set it to the public https URL of this "
    "server, e.g. https://bot.example.com."
)
SECRET_REQUIRED = f"WEBHOOK_SECRET is required in webhook mode: generate one with {KEYGEN_COMMAND}."
