"""The Redis section: what several workers and hosts share so that they behave as one bot."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr, field_validator

from bot.settings import rules
from bot.settings.fields import PROJECT_NAME, Section, setting

SECONDS = "a number of seconds"


class RedisSettings(Section):
    """Redis (scale-out): FSM state, per-chat order, de-duplication and the polling lease
    shared by every worker and host of the bot."""

    redis_url: SecretStr | None = setting(
        None,
        "turns on the shared state below; e.g. `redis://127.0.0.1:6379/0` (password never shown)",
        shown_default="unset",
    )
    redis_key_prefix: str = setting(
        PROJECT_NAME.replace("-", ""),
        "first part of every key, so one Redis serves several bots and environments",
        examples=("production",),
    )
    fsm_state_ttl: int | None = setting(
        None,
        "seconds a conversation's FSM state is kept after its last change",
        shown_default="kept until cleared",
        examples=("production",),
        ge=1,
    )
    fsm_data_ttl: int | None = setting(
        None,
        "seconds a conversation's FSM data is kept after its last change",
        shown_default="kept until cleared",
        examples=("production",),
        ge=1,
    )
    update_done_ttl: int = setting(
        86400,
        "seconds a handled update_id is remembered, so a redelivery is skipped (at least an hour)",
        examples=("production",),
        ge=3600,
        le=30 * 86400,
    )
    update_claim_ttl: int | None = setting(
        None,
        "seconds an update being handled stays claimed (a redelivery meanwhile gets 503) and a "
        "chat stays locked; also the lock of a conversation",
        shown_default="60 + `SHUTDOWN_TIMEOUT`",
        examples=("production",),
        ge=1,
        le=86400,
    )
    polling_lease_ttl: float = setting(
        10.0,
        "seconds the cross-host polling lease lasts unless renewed (kill -9 frees it after this)",
        examples=("production",),
        ge=1,
        le=300,
    )

    def shares_state(self) -> bool:
        """REDIS_URL set: the bot's processes share their state on Redis."""
        return self.redis_url is not None or super().shares_state()

    def section_secrets(self) -> list[str]:
        """REDIS_URL's password, as written in the URL and as sent."""
        values = super().section_secrets()
        if self.redis_url is not None:
            password = urlsplit(self.redis_url.get_secret_value()).password or ""
            values += [password, unquote(password)]
        return values

    @classmethod
    def unshared(cls) -> dict[str, None]:
        """Without REDIS_URL, the state stays in the process."""
        return {**super().unshared(), "redis_url": None}

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

    @field_validator("redis_key_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", value):
            raise ValueError(
                f"REDIS_KEY_PREFIX={value!r} is not valid: use letters, digits, _ . or -, "
                "e.g. mybot-production."
            )
        return value
