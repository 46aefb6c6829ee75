"""Register the webhook with Telegram once per deploy, and only when something changed.

`ensure_webhook()` reads getWebhookInfo and calls setWebhook only when the URL, the allowed
updates, `max_connections` or the secret differ from the configuration. Pending updates are
never dropped unless DROP_PENDING_UPDATES (or the caller) asks for it.

Telegram never returns the secret, so a change of WEBHOOK_SECRET cannot be read back. A small
state file, `LOCK_DIR/telegram-bot-<bot id>.webhook.json`, records an HMAC of the secret keyed with
the token (useless without the token) after each successful setWebhook. When the file is
missing or records another secret, setWebhook is called: re-setting an unchanged webhook is
harmless (pending updates are kept), while a missed secret change would make every delivery a
401. So a fresh server or a wiped LOCK_DIR costs one extra setWebhook, never a broken webhook.

Who calls it: the gunicorn master before it starts the workers (`python -m bot.webhook`,
run by `deploy/gunicorn.conf.py`), `python run.py` in webhook mode
before it serves, and `python -m bot webhook set`. Workers never set or delete the webhook.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramUnauthorizedError
from aiogram.types import WebhookInfo

from bot.exit_codes import ExitCode
from bot.factory import create_bot, create_shared_state, used_update_types
from bot.runtime.outgoing.api_errors import token_rejected_message
from bot.runtime.outgoing.retry import RetryPolicy, call_with_retry
from bot.settings import ConfigError, Settings

logger = logging.getLogger(__name__)

# Telegram allows one real webhook change per second and answers 429 with how long to wait;
# a deploy waits that out a few times, but not on an unreachable Telegram (it serves anyway).
REGISTRATION_RETRY = RetryPolicy(attempts=5)
DEFAULT_MAX_CONNECTIONS = 40


@dataclass(frozen=True)
class WebhookRegistration:
    """What ensure_webhook() found or did."""

    changed: bool  # True when setWebhook was called
    info: WebhookInfo  # getWebhookInfo after the call (or before, when nothing changed)
    description: str  # one sentence for a log line or a report


def state_path(settings: Settings) -> Path:
    """The file that remembers which secret was last registered for this bot."""
    return settings.lock_dir / f"telegram-bot-{settings.bot_id}.webhook.json"


def secret_fingerprint(settings: Settings) -> str:
    """HMAC-SHA256 of the webhook secret keyed with the token: comparable, not reversible."""
    return hmac.new(
        settings.token.encode(), settings.webhook_secret_value.encode(), hashlib.sha256
    ).hexdigest()


def _read_fingerprint(path: Path) -> str | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("secret_hmac")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _write_fingerprint(path: Path, url: str, fingerprint: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"url": url, "secret_hmac": fingerprint}) + "\n")
        os.replace(temporary, path)
    except OSError as exc:
        logger.warning(
            "Could not record the registered webhook secret in %s (%s); the next deploy will "
            "call setWebhook again. Make LOCK_DIR writable to avoid that.",
            path,
            exc,
        )


def _differences(
    info: WebhookInfo, url: str, allowed_updates: Sequence[str], max_connections: int
) -> list[str]:
    reasons = []
    if info.url != url:
        reasons.append(f"URL was {info.url or '(none)'}")
    if sorted(info.allowed_updates or []) != sorted(allowed_updates):
        reasons.append(f"allowed updates were {sorted(info.allowed_updates or [])}")
    if (info.max_connections or DEFAULT_MAX_CONNECTIONS) != max_connections:
        reasons.append(f"max_connections was {info.max_connections}")
    return reasons


async def ensure_webhook(
    bot: Bot,
    settings: Settings,
    allowed_updates: Sequence[str],
    *,
    drop_pending_updates: bool | None = None,
    force: bool = False,
    retry: RetryPolicy = REGISTRATION_RETRY,
) -> WebhookRegistration:
    """Make Telegram's webhook match the settings; setWebhook only when something differs.

    `drop_pending_updates` defaults to DROP_PENDING_UPDATES; when true, setWebhook is called
    (to drop them) even if nothing else differs. `force` calls setWebhook regardless. Each
    call waits out Telegram's 429 as `retry` says.
    """
    url = settings.webhook_url
    if url is None:
        raise ConfigError(["WEBHOOK_BASE_URL is required to set a webhook."])
    secret = settings.webhook_secret_value
    drop = settings.drop_pending_updates if drop_pending_updates is None else drop_pending_updates
    allowed = list(allowed_updates)

    info = await call_with_retry(bot.get_webhook_info, "getWebhookInfo", retry)
    reasons = _differences(info, url, allowed, settings.webhook_max_connections)
    path = state_path(settings)
    fingerprint = secret_fingerprint(settings)
    if not reasons:
        recorded = _read_fingerprint(path)
        if recorded is None:
            reasons.append(f"the registered secret is not recorded in {path}")
        elif not hmac.compare_digest(recorded, fingerprint):
            reasons.append("WEBHOOK_SECRET changed")
    if drop:
        reasons.append("dropping pending updates (DROP_PENDING_UPDATES)")
    if force:
        reasons.append("asked to set it")
    if not reasons:
        return WebhookRegistration(
            changed=False, info=info, description=f"Webhook already set to {url}; unchanged."
        )

    await call_with_retry(
        lambda: bot.set_webhook(
            url=url,
            secret_token=secret,
            allowed_updates=allowed,
            max_connections=settings.webhook_max_connections,
            drop_pending_updates=drop,
        ),
        "setWebhook",
        retry,
    )
    _write_fingerprint(path, url, fingerprint)
    info = await call_with_retry(bot.get_webhook_info, "getWebhookInfo", retry)
    description = f"Webhook set to {url} ({'; '.join(reasons)})."
    return WebhookRegistration(changed=True, info=info, description=description)


async def shared_state_problem(settings: Settings) -> str | None:
    """With the shared state: why it cannot be used at start (the deploy stops with exit 2)."""
    shared = create_shared_state(settings)
    if shared is None:
        return None
    try:
        return await shared.unreachable()
    finally:
        await shared.close()


async def register_for_deploy(
    bot: Bot, settings: Settings, allowed_updates: Sequence[str]
) -> ExitCode:
    """ensure_webhook() with its outcome logged; the exit code to stop with, or OK to serve.

    A rejected token or URL stops the deploy (2). Telegram being unreachable does not: the
    webhook registered by the previous deploy keeps working, so the app serves anyway.
    """
    try:
        registration = await ensure_webhook(bot, settings, allowed_updates)
    except TelegramUnauthorizedError:
        logger.error(token_rejected_message(settings.masked_token))
        return ExitCode.CONFIG
    except TelegramBadRequest as exc:
        logger.error(
            "Telegram refused the webhook %s: %s. Check WEBHOOK_BASE_URL (public https on "
            "443, 80, 88 or 8443, a valid certificate) and WEBHOOK_SECRET.",
            settings.webhook_url,
            exc.message,
        )
        return ExitCode.CONFIG
    except (TelegramAPIError, OSError, TimeoutError) as exc:
        logger.warning(
            "Could not check the webhook registration (%s: %s); serving anyway with the "
            "webhook as it is. Check it later with `python -m bot webhook info`.",
            type(exc).__name__,
            exc,
        )
        return ExitCode.OK
    logger.info("%s", registration.description)
    return ExitCode.OK


async def register_once(settings: Settings) -> ExitCode:
    """Check the shared state (when configured), then build a Bot, register with the handlers'
    update types, close it again: what a deploy does once before serving."""
    if problem := await shared_state_problem(settings):
        logger.error(problem)
        return ExitCode.CONFIG
    bot = create_bot(settings)
    try:
        return await register_for_deploy(bot, settings, used_update_types(settings))
    finally:
        await bot.session.close()
