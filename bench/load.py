"""The load driver: wrk (C, one thread) with bench/webhook_update.lua.

wrk, not a Python client: on a 2-core machine a Python load generator would be the
bottleneck and measure itself. The Lua script gives every request its own update_id, sets
the secret header, and prints one `WRK_RESULT {json}` line that is parsed here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA_SCRIPT = Path(__file__).resolve().parent / "webhook_update.lua"
WRK_MISSING = "wrk is not installed: install the Debian package `wrk` (apt-get install wrk)."
# Each run gets its own block of update_ids, so no run repeats an id a previous run sent
# (the template de-duplicates by update_id and would skip the handlers).
IDS_PER_RUN = 50_000_000


@dataclass(frozen=True)
class LoadResult:
    """What one wrk run measured. Latencies in microseconds."""

    connections: int
    duration_s: float
    requests: int
    errors_status: int  # answers with status >= 400
    errors_socket: int  # connect, read, write errors and timeouts
    p50_us: int
    p90_us: int
    p99_us: int
    max_us: int
    first_update_id: int

    @property
    def ok_requests(self) -> int:
        """Requests answered with a 2xx/3xx status."""
        return self.requests - self.errors_status

    @property
    def ok_per_second(self) -> float:
        return self.ok_requests / self.duration_s if self.duration_s else 0.0

    @property
    def errors(self) -> int:
        return self.errors_status + self.errors_socket


def wrk_path() -> str | None:
    return shutil.which("wrk")


class UpdateIds:
    """Hands out a fresh block of update_ids for every run of one benchmark invocation."""

    def __init__(self, start: int = 1_000_000) -> None:
        self.next_start = start

    def take(self) -> int:
        first = self.next_start
        self.next_start += IDS_PER_RUN
        return first


def run_wrk(
    url: str,
    path: str,
    secret: str,
    connections: int,
    duration_s: float,
    first_update_id: int,
    threads: int = 1,
    timeout_s: float = 10.0,
) -> LoadResult:
    """POST updates to `url + path` for `duration_s` seconds over `connections` connections."""
    wrk = wrk_path()
    if wrk is None:
        raise RuntimeError(WRK_MISSING)
    argv = [
        wrk,
        f"--threads={min(threads, connections)}",
        f"--connections={connections}",
        f"--duration={max(1, round(duration_s))}s",
        f"--timeout={timeout_s:g}s",
        "--latency",
        f"--script={LUA_SCRIPT}",
        url,
        "--",
        str(first_update_id),
        secret,
        path,
    ]
    completed = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration_s + timeout_s + 30, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    return parse_wrk_output(completed.stdout, connections, first_update_id)


def parse_wrk_output(output: str, connections: int, first_update_id: int) -> LoadResult:
    """Read the WRK_RESULT line that webhook_update.lua's done() prints."""
    for line in output.splitlines():
        if line.startswith("WRK_RESULT "):
            data = json.loads(line.removeprefix("WRK_RESULT "))
            break
    else:
        raise RuntimeError(f"wrk printed no WRK_RESULT line:\n{output}")
    return LoadResult(
        connections=connections,
        duration_s=data["duration_us"] / 1e6,
        requests=data["requests"],
        errors_status=data["errors_status"],
        errors_socket=sum(
            data[key] for key in ("errors_connect", "errors_read", "errors_write", "errors_timeout")
        ),
        p50_us=data["p50_us"],
        p90_us=data["p90_us"],
        p99_us=data["p99_us"],
        max_us=data["max_us"],
        first_update_id=first_update_id,
    )
