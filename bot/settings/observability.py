"""The observability section: the Prometheus metrics port of a poller, and error reports."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr, field_validator

from bot.settings.fields import setting

# The sentry-sdk this bot's error reports are written for (pyproject.toml's bound says the same).
SENTRY_SDK_MAJOR = "3"
SENTRY_SDK = f"sentry-sdk>={SENTRY_SDK_MAJOR},<{int(SENTRY_SDK_MAJOR) + 1}"


class ObservabilitySettings(BaseModel):
    """Observability: `/metrics` for Prometheus, and error reports to Sentry."""

    metrics_port: int | None = setting(
        None,
        "polling mode: serve `/metrics` on this port (the webhook app always serves it)",
        shown_default="unset (no metrics port)",
        examples=("local",),
        ge=1,
        le=65535,
    )
    metrics_host: str = setting(
        "127.0.0.1",
        "the address `METRICS_PORT` listens on: loopback, so only this machine can scrape",
        examples=("local",),
    )
    webhook_info_interval: float = setting(
        60.0,
        "webhook mode: seconds between two getWebhookInfo calls that feed the pending-updates "
        "and last-error metrics (0: never)",
        examples=("production",),
        ge=0,
        le=86400,
    )
    sentry_dsn: SecretStr | None = setting(
        None,
        "report handler exceptions to this Sentry DSN (needs the `sentry` extra: sentry-sdk)",
        shown_default="unset (no reports)",
        examples=("production",),
    )
    sentry_send_text: bool = setting(
        False,
        "let error reports carry message text and local variables (off: ids and types only)",
        examples=("production",),
    )

    @field_validator("sentry_dsn")
    @classmethod
    def _sentry_dsn(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        parts = urlsplit(value.get_secret_value())
        if parts.scheme not in ("http", "https") or not parts.username or not parts.hostname:
            raise ValueError(
                "SENTRY_DSN is not a Sentry DSN: copy it from the Sentry project's settings "
                "(Client Keys), e.g. https://<key>@o123.ingest.sentry.io/456."
            )
        if importlib.util.find_spec("sentry_sdk") is None:
            raise ValueError(
                "SENTRY_DSN is set but the sentry-sdk package is not installed: run "
                f'`python -m pip install "{SENTRY_SDK}"`, or unset SENTRY_DSN.'
            )
        installed = importlib.metadata.version("sentry-sdk")
        if installed.split(".", 1)[0] != SENTRY_SDK_MAJOR:
            # Its options changed between majors (3.0 removed send_default_pii): refuse here,
            # with the fix, rather than fail at start with sentry-sdk's own TypeError.
            raise ValueError(
                f"SENTRY_DSN is set but sentry-sdk {installed} is installed; this bot reports "
                f"with sentry-sdk {SENTRY_SDK_MAJOR}.x: run "
                f'`python -m pip install "{SENTRY_SDK}"`, or unset SENTRY_DSN.'
            )
        return value

    def sentry_key(self) -> str:
        """The DSN's key, which is redacted like a secret (empty without a DSN)."""
        if self.sentry_dsn is None:
            return ""
        return urlsplit(self.sentry_dsn.get_secret_value()).username or ""
