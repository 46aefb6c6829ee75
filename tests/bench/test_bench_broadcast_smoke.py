"""The broadcast benchmark still runs end to end (a small audience, faster limits)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(90)
def test_broadcast_bench_shows_plain_aiogram_losing_messages_and_the_template_none(
    tmp_path: Path,
) -> None:
    results = tmp_path / "broadcast.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench.broadcast", "--chats", "150", "--scale", "4",
         "--json", str(results)],
        cwd=ROOT, capture_output=True, text=True, timeout=80, check=False,
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr
    aiogram, template = json.loads(results.read_text())
    assert aiogram["lost"] > 0 and aiogram["too_many_requests"] > 0
    assert (template["delivered"], template["lost"], template["too_many_requests"]) == (150, 0, 0)
    assert "| template | 150 | 0 | 0 |" in completed.stdout
