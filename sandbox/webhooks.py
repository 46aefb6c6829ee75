"""`setWebhook`, `deleteWebhook`, `getWebhookInfo`, following the Bot API server's rules."""

from __future__ import annotations

import ipaddress
import re
import time
from typing import Any
from urllib.parse import urlsplit

from sandbox.errors import TERMINATED_BY_SET_WEBHOOK, bad_request, too_many_requests
from sandbox.params import get_bool, get_int, get_json, get_str
from sandbox.records import Answer
from sandbox.state import DEFAULT_MAX_CONNECTIONS, BotState

JSON = dict[str, Any]
_SECRET_CHARS = re.compile(r"[A-Za-z0-9_-]*")
OFFICIAL_PORTS = (443, 80, 88, 8443)


def set_webhook(
    bot: BotState, params: JSON, *, delete: bool = False, internal: bool = False
) -> Answer:
    """setWebhook (or deleteWebhook with `delete`); `internal` skips the 1-per-interval limit.

    Like the Bot API server, every setWebhook with a non-empty url counts against the limit,
    even one that changes nothing; deleting is never limited.
    """
    new_url = "" if delete else get_str(params, "url")
    now = time.monotonic()
    if new_url and not internal:
        if now < bot.next_webhook_change:
            raise too_many_requests(1)
        bot.next_webhook_change = now + bot.settings.webhook_change_interval

    new_max = min(max(get_int(params, "max_connections", DEFAULT_MAX_CONNECTIONS), 1), 100)
    new_max = new_max if new_url else 0
    new_secret = get_str(params, "secret_token") if new_url else ""
    drop = get_bool(params, "drop_pending_updates")
    if (
        new_url == bot.webhook_url
        and new_max == bot.max_connections
        and new_secret == bot.webhook_secret
        and not drop
    ):
        if "allowed_updates" in params:
            bot.set_allowed_updates(get_json(params, "allowed_updates"))
        return Answer(True, "Webhook is already set" if new_url else "Webhook is already deleted")

    if new_url:
        bot.abort_long_poll(TERMINATED_BY_SET_WEBHOOK)
    # The server closes the old webhook before it even validates the new one.
    was_set = bool(bot.webhook_url)
    bot.webhook_url, bot.webhook_secret, bot.max_connections = "", "", 0
    bot.on_webhook_change(bot)
    if drop:
        bot.drop_pending()
    if not new_url:
        bot.changed()
        return Answer(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    _check_url(new_url, official=bot.settings.official_webhook_rules)
    if len(new_secret) > 256:
        raise bad_request("secret token is too long")
    if not _SECRET_CHARS.fullmatch(new_secret):
        raise bad_request("secret token contains unallowed characters")
    bot.webhook_url, bot.webhook_secret, bot.max_connections = new_url, new_secret, new_max
    bot.last_error_date = bot.last_error_message = None
    if "allowed_updates" in params:
        bot.set_allowed_updates(get_json(params, "allowed_updates"))
    bot.on_webhook_change(bot)
    bot.changed()
    return Answer(True, "Webhook was set")


def _check_url(url: str, *, official: bool) -> None:
    # A local Bot API server takes http and any port; api.telegram.org does not.
    try:
        parts = urlsplit(url if "://" in url else f"https://{url}")
        port = parts.port
    except ValueError:
        raise bad_request("invalid webhook URL specified") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request("invalid webhook URL specified")
    if official:
        if parts.scheme != "https":
            raise bad_request("bad webhook: HTTPS url must be provided for webhook")
        if (port or 443) not in OFFICIAL_PORTS:
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )


def get_webhook_info(bot: BotState) -> JSON:
    """getWebhookInfo, with the fields the server includes only when they have a value."""
    info: JSON = {
        "url": bot.webhook_url,
        "has_custom_certificate": False,
        "pending_update_count": len(bot.updates),
    }
    if bot.last_error_date is not None:
        info["last_error_date"] = bot.last_error_date
        info["last_error_message"] = bot.last_error_message or ""
    if bot.max_connections > 0:
        info["max_connections"] = bot.max_connections
    if bot.webhook_url:
        info["ip_address"] = _ip_address(bot.webhook_url)
    if bot.allowed_updates is not None:
        info["allowed_updates"] = list(bot.allowed_updates)
    return info


def _ip_address(url: str) -> str:
    host = urlsplit(url if "://" in url else f"https://{url}").hostname or ""
    if host == "localhost":
        return "127.0.0.1"
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return "<unknown>"  # the server's text before it has resolved the host
