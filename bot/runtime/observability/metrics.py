"""The bot's Prometheus metrics, the one-line functions that record them, and `/metrics`.

Every name starts with `telegram_bot_`; docs/monitoring.md lists them, and `deploy/monitoring/`
holds a Grafana dashboard and alert rules built on them. Under gunicorn each worker writes
its values to files in PROMETHEUS_MULTIPROC_DIR (set by deploy/gunicorn.conf.py before the
workers start), and one scrape of any worker gives the sum over all of them.

Other parts of the runtime record through the functions below, so that a label is spelled
in one place: for example flood control calls `record_flood_wait(seconds, "retry_after")`
each time it holds a call back.
"""

from __future__ import annotations

import os
import platform
import time
from importlib.metadata import PackageNotFoundError, version

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from bot import __version__

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
# Seconds: from a cached reply (~1 ms) to Telegram's 60 s answer timeout.
HANDLER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# Bot API calls: getUpdates long polls take up to 25 s.
API_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
FLOOD_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)

UPDATES = Counter(
    "telegram_bot_updates",
    "Updates received, by type and outcome: handled, unhandled (no handler matched), failed "
    "(a handler raised), duplicate (a redelivery of a handled one, skipped), deferred (to be "
    "delivered again: shared state or database unavailable), abandoned (cancelled at "
    "shutdown), dropped (polling: a flooding chat's updates past its backlog), throttled "
    "(dropped by incoming throttling: its sender was over THROTTLE_LIMIT)",
    ["type", "outcome"],
)
DATABASE_UNAVAILABLE = Counter(
    "telegram_bot_database_unavailable",
    "Database sessions that could not reach the database (their update is delivered again)",
)
WEBHOOK_REFUSALS = Counter(
    "telegram_bot_webhook_refusals",
    "Webhook requests answered without handling an update, by HTTP status and reason",
    ["status", "reason"],
)
HANDLER_SECONDS = Histogram(
    "telegram_bot_handler_duration_seconds",
    "Time in a handler, by router and handler name",
    ["router", "handler"],
    buckets=HANDLER_BUCKETS,
)
IN_FLIGHT = Gauge(
    "telegram_bot_updates_in_flight",
    "Updates being handled right now",
    multiprocess_mode="livesum",
)
API_REQUESTS = Counter(
    "telegram_bot_api_requests",
    "Bot API calls by method and outcome (ok, 4xx, 429, 5xx, network_error, other); `error` "
    "classes a 4xx by its description, e.g. bot_blocked, chat_not_found",
    ["method", "outcome", "error"],
)
API_SECONDS = Histogram(
    "telegram_bot_api_request_duration_seconds",
    "Bot API call latency, by method",
    ["method"],
    buckets=API_BUCKETS,
)
POLLING_CONFLICTS = Counter(
    "telegram_bot_polling_conflicts",
    "409 Conflicts met while polling: another poller, or a webhook",
    ["kind"],
)
LOCK_REFUSALS = Counter(
    "telegram_bot_polling_lock_refusals",
    "Polling refused or stopped because another poller holds the local lock or the shared lease",
    ["lock"],
)
FLOOD_WAITS = Histogram(
    "telegram_bot_flood_wait_seconds",
    "Seconds a Bot API call was held back by flood control, by reason (pacing, bulk, retry_after)",
    ["reason"],
    buckets=FLOOD_BUCKETS,
)
WEBHOOK_PENDING = Gauge(
    "telegram_bot_webhook_pending_updates",
    "getWebhookInfo's pending_update_count: updates Telegram holds for the webhook",
    multiprocess_mode="mostrecent",
)
WEBHOOK_LAST_ERROR = Gauge(
    "telegram_bot_webhook_last_error_timestamp_seconds",
    "getWebhookInfo's last_error_date: when Telegram last failed to deliver (0: never)",
    multiprocess_mode="mostrecent",
)
START_TIME = Gauge(
    "telegram_bot_process_start_time_seconds",
    "When this process (each gunicorn worker: label pid) started, in Unix time",
    multiprocess_mode="liveall",
)
BUILD_INFO = Gauge(
    "telegram_bot_build_info",
    "Always 1: the template's version, aiogram's and Python's",
    ["version", "aiogram", "python"],
    multiprocess_mode="max",
)


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


START_TIME.set(time.time())
BUILD_INFO.labels(__version__, _package_version("aiogram"), platform.python_version()).set(1)


def count_update(update_type: str, outcome: str) -> None:
    """One update reached an outcome (see UPDATES for the outcomes)."""
    UPDATES.labels(update_type, outcome).inc()


def count_database_unavailable() -> None:
    """A database session could not reach the database."""
    DATABASE_UNAVAILABLE.inc()


def count_refusal(status: int, reason: str) -> None:
    """The webhook answered `status` without handling an update; `reason` is a short slug."""
    WEBHOOK_REFUSALS.labels(str(status), reason).inc()


def record_api_call(method: str, outcome: str, error: str, seconds: float) -> None:
    """One Bot API call (one attempt on the wire) ended with `outcome`, after `seconds`."""
    API_REQUESTS.labels(method, outcome, error).inc()
    API_SECONDS.labels(method).observe(seconds)


def record_flood_wait(seconds: float, reason: str = "pacing") -> None:
    """Flood control held a call back for `seconds`: `pacing` (before sending, to stay under
    Telegram's limits), `bulk` (a broadcast's message yielding to replies) or `retry_after`
    (after a 429)."""
    FLOOD_WAITS.labels(reason).observe(seconds)


def count_conflict(kind: str) -> None:
    """A 409 Conflict while polling: `poller` (another getUpdates) or `webhook`."""
    POLLING_CONFLICTS.labels(kind).inc()


def count_lock_refusal(lock: str) -> None:
    """Polling was refused, or stopped, because another poller holds `lock` (local, lease)."""
    LOCK_REFUSALS.labels(lock).inc()


def record_webhook_info(pending_updates: int, last_error_at: float | None) -> None:
    """What getWebhookInfo said: pending updates, and the time of the last delivery error."""
    WEBHOOK_PENDING.set(pending_updates)
    WEBHOOK_LAST_ERROR.set(last_error_at or 0)


def exposition() -> bytes:
    """The current metrics in the Prometheus text format: this process's, or under gunicorn
    (PROMETHEUS_MULTIPROC_DIR) the sum over every worker."""
    if not os.environ.get(MULTIPROCESS_DIR):
        return generate_latest(REGISTRY)
    # A fresh registry per scrape is prometheus-client's documented way: it reads the files.
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)
