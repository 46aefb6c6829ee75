"""The webhook benchmark harness still runs end to end (bare app only, one short run)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None,
    reason="wrk is not installed: install the Debian package `wrk` (apt-get install wrk)",
)


@pytest.mark.timeout(60)
def test_harness_measures_the_bare_app_and_stops_its_processes(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench.webhook_ingest", "--apps", "bare", "--concurrency", "8",
         "--duration", "1", "--warmup", "0", "--no-scaleout", "--json", str(results)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=45,
        check=False,
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr
    assert "| bare" in completed.stdout
    data = json.loads(results.read_text())
    (bare,) = data["ingest"]
    assert bare["app"] == "bare"
    assert bare["load"]["requests"] > 100
    assert bare["load"]["errors_status"] == 0
    assert bare["load"]["errors_socket"] == 0
    # The stub Bot API and the app were started, and both are stopped again.
    assert len(data["started_pids"]) == 2
    running = [pid for pid in data["started_pids"] if Path(f"/proc/{pid}").exists()]
    assert running == [], f"benchmark processes left running: {running}"
