"""The doctor's checks of Redis (with REDIS_URL): reachable and how fast, which version, who
holds the polling lease, and whether the keys in it carry the bot id."""

from __future__ import annotations

import time

from bot.runtime.observability.checks import Check, Checks
from bot.runtime.shared.redis.connection import REDIS_ERRORS, RedisConnection, shown_url
from bot.runtime.shared.redis.lease import read_lease
from bot.runtime.single_poller.lease import LeaseHolder

REDIS = Checks("redis", "Redis")
LEASE = Checks("polling_lease", "polling lease")
KEYS = Checks("redis_keys", "Redis keys")
# Keys looked at for the bot id: a sample is enough to see a wrong key builder.
KEY_SAMPLE = 1000


async def redis_checks(connection: RedisConnection, bot_mode: str) -> list[Check]:
    """Reachability and latency, version, lease holder and keys (`bot_mode`: whether a
    poller is expected)."""
    config = connection.settings
    url = shown_url(config)
    checks: list[Check] = []
    try:
        started = time.monotonic()
        await connection.redis.ping()
        latency = (time.monotonic() - started) * 1000
        version = (await connection.redis.info("server")).get("redis_version", "?")
        details = {"latency_ms": round(latency, 1), "version": version}
        checks.append(REDIS.ok(f"{url} answers in {latency:.0f} ms (Redis {version})", details))
        checks.append(_lease_check(await read_lease(connection), bot_mode))
        checks.append(await _keys_check(connection, config.bot_id, config.redis_key_prefix))
    except REDIS_ERRORS as exc:
        checks.append(
            REDIS.problem(
                f"{url} cannot be reached ({type(exc).__name__}: {exc})",
                fix="start Redis, or correct REDIS_URL; the bot refuses to start (exit 2) "
                "until it answers",
            )
        )
    return checks


def _lease_check(held: LeaseHolder | None, bot_mode: str) -> Check:
    if held is None:
        return LEASE.ok("free: no poller of this bot runs on any host")
    holder = held.holder
    details = {
        "pid": holder.pid,
        "host": holder.host,
        "started_at": holder.started_at.isoformat(),
        "command": holder.command,
        "expires_in": round(held.expires_in, 1),
    }
    summary = f"held by {holder.describe()} ({holder.command})"
    if bot_mode == "webhook":
        return LEASE.problem(
            f"{summary}: a poller runs although this environment uses the webhook",
            fix=f"stop the poller on host {holder.host}",
            details=details,
        )
    return LEASE.ok(f"{summary}: this bot's one poller", details)


async def _keys_check(connection: RedisConnection, bot_id: int, prefix: str) -> Check:
    ours = foreign = 0
    async for raw in connection.redis.scan_iter(match=f"{prefix}:*", count=200):
        key = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        if key.startswith(f"{prefix}:{bot_id}:"):
            ours += 1
        elif not key.split(":")[1].isdigit():
            foreign += 1
        if ours + foreign >= KEY_SAMPLE:
            break
    old = 0
    async for _ in connection.redis.scan_iter(match="fsm:*", count=200):
        old += 1
        if old >= KEY_SAMPLE:
            break
    details = {"bot_keys": ours, "keys_without_bot_id": foreign + old}
    if foreign or old:
        return KEYS.warning(
            f"{foreign + old} key(s) without a bot id (e.g. aiogram's default `fsm:...`): "
            "written by another program or an older version; this bot does not read them",
            fix=f"leave them if another bot owns them; else delete them (redis-cli --scan "
            f"--pattern 'fsm:*' | xargs redis-cli del); this bot's keys start {prefix}:{bot_id}:",
            details=details,
        )
    return KEYS.ok(f"{ours} key(s) of this bot, all under {prefix}:{bot_id}:", details)
