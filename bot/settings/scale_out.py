"""The Redis section: what several workers and hosts share so that they behave as one bot."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr, field_validator

from bot.settings import rules
from bot.settings.fields import setting

SECONDS = "a number of seconds"


class RedisSettings(BaseModel):
    """Redis (scale-out): FSM state, per-chat order, de-duplication and the polling lease
    shared by every worker and host of the bot."""

    redis_url: SecretStr | None = setting(
        None,
        "turns on the shared state below; e.g. `redis://127.0.0.1:6379/0` (password never shown)",
        shown_default="unset",
    )
    redis_key_prefix: str = setting(
        # copier: filter replace("tg-bot", slug) | replace("tgbot", slug_id)
        "tgbot",
        # copier: endfilter
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
