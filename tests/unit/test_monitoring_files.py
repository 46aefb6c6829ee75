"""deploy/monitoring/: the alert rules pass promtool, and the dashboards and the rules use only
metrics that /metrics really serves (names read from a scrape of this process's registry)."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.runtime.observability.metrics import exposition
from tests.helpers.metrics import Scrape
from tests.helpers.processes import ROOT
from tests.helpers.stack import render

MONITORING = ROOT / "deploy" / "monitoring"
# The main dashboard, and one beside it per optional part of the project (its own panels).
DASHBOARDS = sorted(MONITORING.glob("grafana-dashboard*.json"))
ALERTS = MONITORING / "alerts.yml"
METRIC_NAME = re.compile(r"\btelegram_bot_[a-z0-9_]+")


def served_names() -> set[str]:
    # An optional part defines its metrics beside its code (`<part>/metrics.py`): all of them.
    runtime = ROOT / "bot" / "runtime"
    for module in runtime.rglob("*metrics.py"):
        parts = module.relative_to(ROOT).with_suffix("").parts
        importlib.import_module(".".join(parts))
    return Scrape.parse(exposition().decode()).sample_names()


def dashboard_expressions() -> list[str]:
    dashboards = [json.loads(path.read_text()) for path in DASHBOARDS]
    return [t["expr"] for d in dashboards for panel in d["panels"] for t in panel["targets"]]


def alert_expressions() -> dict[str, str]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_monitoring_files_use_only_metrics_that_metrics_serves(source: str) -> None:
    expressions = (
        dashboard_expressions() if source == "dashboard" else list(alert_expressions().values())
    )
    used = {name for expr in expressions for name in METRIC_NAME.findall(expr)}
    assert used - served_names() == set()
    assert len(used) >= (14 if source == "dashboard" else 4)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_dashboard_is_grafana_json_with_a_prometheus_datasource_choice(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    assert dashboard["templating"]["list"][0]["query"] == "prometheus"
    assert all(panel["datasource"]["uid"] == "${datasource}" for panel in dashboard["panels"])
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


def test_alert_rules_cover_the_issues_cases() -> None:
    assert set(alert_expressions()) >= {
        "TgBotNoUpdatesWhilePending",
        "TgBotHandlerErrors",
        "TgBotRateLimited",
        "TgBotWebhookDeliveryError",
    }


def test_promtool_accepts_the_alert_rules(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package `prometheus`; .ci/run extracts it)")
    rendered = tmp_path / "alerts.yml"  # as the guide installs it: the project's name filled in
    rendered.write_text(render(ALERTS))
    result = subprocess.run(
        [promtool, "check", "rules", str(rendered)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 5 rules found" in result.stdout
