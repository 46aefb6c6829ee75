"""The doctor's checks of the configuration and its files: loading, env files, permissions,
the token in two places, the webhook URL and secret.

Each takes a `DoctorContext` (what could be read of the configuration, even when it does not
load) and returns a `Check`. None of them changes anything. The rules they report are the
configuration's own (`bot.settings.rules`), never a second copy.
"""

from __future__ import annotations

import stat
import sys
from urllib.parse import urlsplit

from bot.commands.context import DoctorContext
from bot.commands.report import Check, Checks
from bot.runtime.outgoing.flood import FloodLimits
from bot.settings import mask_token, read_settings
from bot.settings.rules import KEYGEN_COMMAND, telegram_refusal

RECOMMENDED_SECRET_LENGTH = 32
CONFIG = Checks("config", "configuration")
ENVIRONMENT = Checks("environment", "environment")
SAME_TOKEN = Checks("same_token", "token reuse")
ENV_PERMISSIONS = Checks("env_permissions", ".env.production access")
WEBHOOK_URL = Checks("webhook_url", "webhook URL")
WEBHOOK_SECRET = Checks("webhook_secret", "webhook secret")
FLOOD = Checks("flood_control", "flood control")


def check_config(ctx: DoctorContext) -> list[Check]:
    """The configuration loads; otherwise one problem per configuration mistake."""
    if ctx.settings is not None:
        found = ctx.read.env_file_found
        source = str(ctx.read.env_file) if found else "the process environment"
        return [CONFIG.ok(f"loads from {source}")]
    fix = "correct it in the env file; `python run.py` refuses to start until then"
    return [CONFIG.problem(problem, fix=fix) for problem in ctx.read.problems]


def check_environment(ctx: DoctorContext) -> Check:
    """Which env file is read, and which environment and mode it selects."""
    read, config = ctx.read, ctx.config
    where = str(read.env_file) if read.env_file_found else f"{read.env_file} (absent)"
    token = mask_token(ctx.token) if ctx.token else "no usable token"
    return ENVIRONMENT.ok(
        f"{where}: APP_ENV={config.app_env}, BOT_MODE={config.bot_mode}, bot {token}",
        details={
            "env_file": str(read.env_file),
            "env_file_exists": read.env_file_found,
            "app_env": config.app_env,
            "mode": config.bot_mode,
            "bot_id": ctx.bot_id,
        },
    )


def check_same_token(ctx: DoctorContext) -> Check:
    """The same BOT_TOKEN in .env.local and .env.production: a laptop and a server on one bot."""
    tokens: dict[str, str | None] = {}
    for name in (".env.local", ".env.production"):
        path = ctx.root / name
        if path.is_file():
            # The files alone: a BOT_TOKEN exported in this shell would make both look alike.
            read = read_settings(env_file=path, root=ctx.root, environment=False)
            token = read.partial.bot_token
            tokens[name] = token.get_secret_value() if token is not None else None
    local, production = tokens.get(".env.local"), tokens.get(".env.production")
    if local is None or production is None:
        present = ", ".join(f"{n} has bot {mask_token(t or '')}" for n, t in tokens.items())
        where = present or "neither .env.local nor .env.production is here"
        return SAME_TOKEN.skipped(
            f"{where}; compare with the bot id in the other file on the other machine"
        )
    if local == production:
        return SAME_TOKEN.problem(
            f"the same token ({mask_token(local)}) is in .env.local and .env.production: "
            "development and production are one bot, and take each other's updates",
            fix="create a separate development bot with @BotFather (/newbot) and put its token "
            "in .env.local; keep the production token on the server only",
        )
    shown = f"{mask_token(local)} (local), {mask_token(production)} (production)"
    return SAME_TOKEN.ok(f"different bots: {shown}")


def check_env_permissions(ctx: DoctorContext) -> Check:
    """.env.production (it holds the production token) readable by other users."""
    path = ctx.root / ".env.production"
    if not path.is_file():
        return ENV_PERMISSIONS.skipped(f"no {path}")
    if sys.platform == "win32":
        return ENV_PERMISSIONS.skipped("not checked on Windows (ACLs set access, not mode bits)")
    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    details = {"mode": f"{mode:o}"}
    fix = f"chmod 600 {path}"
    if mode & stat.S_IROTH:
        return ENV_PERMISSIONS.problem(
            f"{path} is readable by every user of this machine (mode {mode:o})", fix, details
        )
    if mode & stat.S_IRGRP and info.st_uid == 0:
        # The deploy guide's layout: root owns it, the bot's group may only read it.
        summary = f"owned by root, readable by its group only (mode {mode:o})"
        return ENV_PERMISSIONS.ok(summary, details)
    if mode & stat.S_IRGRP:
        return ENV_PERMISSIONS.warning(
            f"{path} is readable by its group (mode {mode:o})",
            fix=fix + " (or keep 640 if the group is only the bot's service account)",
            details=details,
        )
    return ENV_PERMISSIONS.ok(f"only its owner can read it (mode {mode:o})", details)


def check_webhook_url(ctx: DoctorContext) -> Check:
    """A webhook URL Telegram accepts: https, on port 443, 80, 88 or 8443."""
    config = ctx.config
    url = config.webhook_url
    if not ctx.usable("webhook_base_url"):
        return WEBHOOK_URL.problem("WEBHOOK_BASE_URL is not a usable URL", "see configuration")
    if url is None:
        if config.bot_mode != "webhook":
            return WEBHOOK_URL.skipped("polling: no webhook URL configured")
        return WEBHOOK_URL.problem(
            "WEBHOOK_BASE_URL is not set, though this environment uses the webhook",
            fix="set WEBHOOK_BASE_URL to the public https URL, e.g. https://bot.example.com",
        )
    refusal = telegram_refusal(config.webhook_base_url or url)
    if refusal is None:
        return WEBHOOK_URL.ok(f"{url}: https on port {urlsplit(url).port or 443}")
    if not config.uses_official_api:
        return WEBHOOK_URL.ok(
            f"{url}: fine for the custom Bot API server {config.telegram_api_url}, but "
            f"api.telegram.org would refuse it ({refusal})"
        )
    return WEBHOOK_URL.problem(
        refusal,
        fix="serve it through nginx with a certificate (certbot) on 443 and set WEBHOOK_BASE_URL "
        "to https://your.domain",
    )


def check_webhook_secret(ctx: DoctorContext) -> Check:
    """The webhook secret: present, valid, and long enough not to be guessed."""
    if ctx.config.bot_mode != "webhook":
        return WEBHOOK_SECRET.skipped("polling: no webhook secret needed")
    fix = f"generate one with {KEYGEN_COMMAND} and set WEBHOOK_SECRET"
    secret = ctx.webhook_secret
    if not ctx.usable("webhook_secret"):
        refused = "WEBHOOK_SECRET has characters Telegram refuses (allowed: A-Z a-z 0-9 _ -)"
        return WEBHOOK_SECRET.problem(refused, fix=fix)
    if secret is None:
        missing = "WEBHOOK_SECRET is missing: anyone who finds the URL can post fake updates"
        return WEBHOOK_SECRET.problem(missing, fix=fix)
    if len(secret) < RECOMMENDED_SECRET_LENGTH:
        return WEBHOOK_SECRET.warning(
            f"WEBHOOK_SECRET has {len(secret)} characters; use at least "
            f"{RECOMMENDED_SECRET_LENGTH} so it cannot be guessed",
            fix=fix,
        )
    return WEBHOOK_SECRET.ok(f"set, {len(secret)} characters")


def check_flood_control(ctx: DoctorContext) -> Check:
    """The effective limits outgoing messages are paced at, and who shares the budget."""
    config = ctx.config
    if not config.flood_control:
        return FLOOD.warning(
            "off (FLOOD_CONTROL=false): past Telegram's limits a message gets 429 Too Many "
            "Requests and is lost unless the handler retries it",
            fix="set FLOOD_CONTROL=true in the env file",
        )
    shared = config.shares_state()
    where = (
        "one budget for every worker and host (the shared state)"
        if shared
        else "a budget per process: several workers without a shared state each send this fast"
    )
    return FLOOD.ok(
        f"{FloodLimits(config).describe()}; {where}",
        details={
            "global_per_second": config.flood_global_rate,
            "global_burst": config.flood_global_burst,
            "chat_per_second": config.flood_chat_rate,
            "chat_burst": config.flood_chat_burst,
            "group_per_minute": config.flood_group_rate,
            "group_burst": config.flood_group_burst,
            "retries": config.flood_retries,
            "shared": shared,
        },
    )
