"""The doctor's look at a running bot's /metrics on this machine: how many updates it
handled since it started, and how many of them failed in a handler.

Where it looks: with polling, METRICS_HOST:METRICS_PORT (when set); with the webhook,
GUNICORN_BIND from the environment (its first host:port, else its unix socket), else
WEB_HOST:WEB_PORT, which is also gunicorn's default bind.
"""

from __future__ import annotations

import os

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.commands.context import DoctorContext
from bot.commands.report import Check, Checks

METRICS = Checks("metrics", "metrics")
# A failed share above this is worth a warning (the alert rules use the same threshold).
ERROR_RATE_WARNING = 0.05
SCRAPE_TIMEOUT = 3.0
# A bot listening on every address is asked on loopback.
_LOOPBACK_FOR = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def metrics_target(ctx: DoctorContext) -> tuple[str, str | None] | None:
    """(URL, unix socket or None) of this environment's /metrics, or None when it has none."""
    config = ctx.config
    if config.bot_mode == "polling":
        if config.metrics_port is None:
            return None
        return _http(config.metrics_host, config.metrics_port), None
    binds = [part.strip() for part in os.environ.get("GUNICORN_BIND", "").split(",") if part]
    for bind in binds:  # a TCP address first: the socket is usually for nginx (umask 007)
        host, _, port = bind.rpartition(":")
        if not bind.startswith("unix:") and port.isdigit():
            return _http(host.strip("[]") or "127.0.0.1", int(port)), None
    if binds:
        return "http://localhost/metrics", binds[0].removeprefix("unix:")
    return _http(config.web_host, config.web_port), None


def _http(host: str, port: int) -> str:
    host = _LOOPBACK_FOR.get(host, host)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/metrics"


async def check_metrics(ctx: DoctorContext) -> Check:
    """The running bot's handler error rate, from its /metrics; skipped when nothing runs."""
    target = metrics_target(ctx)
    if target is None:
        return METRICS.skipped("METRICS_PORT is not set: a poller serves no /metrics")
    url, socket = target
    where = f"{url} (socket {socket})" if socket else url
    try:
        text = await _scrape(url, socket)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return METRICS.skipped(f"nothing answers at {where} ({type(exc).__name__}): not running")
    counts = _update_counts(text)
    total, failed = sum(counts.values()), counts.get("failed", 0.0)
    details = {"url": url, "updates": int(total), "failed": int(failed), "error_rate": None}
    if total == 0:
        return METRICS.ok(f"{where}: no update since the bot started", details)
    rate = failed / total
    details["error_rate"] = round(rate, 4)
    summary = (
        f"{where}: {int(total)} update(s) since the bot started, {int(failed)} failed in a "
        f"handler ({rate:.1%})"
    )
    if rate > ERROR_RATE_WARNING:
        return METRICS.warning(
            summary,
            fix="read the ERROR lines of the bot's log (they carry the update_id), or the "
            "reports in Sentry with SENTRY_DSN",
            details=details,
        )
    return METRICS.ok(summary, details)


async def _scrape(url: str, socket: str | None) -> str:
    connector = aiohttp.UnixConnector(path=socket) if socket else None
    timeout = aiohttp.ClientTimeout(total=SCRAPE_TIMEOUT)
    async with (
        aiohttp.ClientSession(connector=connector, timeout=timeout) as http,
        http.get(url) as response,
    ):
        response.raise_for_status()
        return await response.text()


def _update_counts(text: str) -> dict[str, float]:
    """telegram_bot_updates_total summed by outcome."""
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "telegram_bot_updates":
            continue
        for sample in family.samples:
            if sample.name == "telegram_bot_updates_total":
                outcome = sample.labels.get("outcome", "")
                counts[outcome] = counts.get(outcome, 0.0) + sample.value
    return counts
