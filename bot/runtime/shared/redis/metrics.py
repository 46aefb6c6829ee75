"""The Redis metrics of /metrics (with REDIS_URL): each command's latency and failures, by
operation (`update_claim`, `fsm_get_state`, `lease_renew`, ...).

Defined here, beside the Redis code, rather than in `bot.runtime.observability.metrics`:
prometheus-client registers a metric in the module that defines it, and in multiprocess mode
(gunicorn) the values of every worker are read from PROMETHEUS_MULTIPROC_DIR whichever module
wrote them.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Seconds: a Redis round trip on the same network is well under a millisecond.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5)

COMMAND_SECONDS = Histogram(
    "telegram_bot_redis_command_duration_seconds",
    "Redis command latency (REDIS_URL), by operation",
    ["operation"],
    buckets=BUCKETS,
)
COMMAND_ERRORS = Counter(
    "telegram_bot_redis_errors",
    "Redis commands that failed (REDIS_URL), by operation",
    ["operation"],
)


def record_redis_command(operation: str, seconds: float, failed: bool) -> None:
    """One Redis command of `operation` took `seconds`; `failed` counts it as an error."""
    COMMAND_SECONDS.labels(operation).observe(seconds)
    if failed:
        COMMAND_ERRORS.labels(operation).inc()
