"""What every operator command prints: a list of checks or steps, facts, next steps.

Text for people by default, one JSON document with `--json` for scripts. In JSON, facts and
details are machine values (null, numbers, booleans, ISO 8601 times) under snake_case keys;
prose is only in `headline`, `summary`, `fix` and `next_steps`. The exit code is part of the
report, so a deploy script can rely on it whatever the output format.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.exit_codes import ExitCode
from bot.runtime.observability.checks import Check as Check
from bot.runtime.observability.checks import Checks as Checks
from bot.runtime.observability.checks import Status as Status

_MARKS: dict[Status, str] = {
    "ok": "ok",
    "warning": "WARNING",
    "problem": "PROBLEM",
    "skipped": "skipped",
}


@dataclass
class Report:
    """The whole outcome of one command."""

    command: str
    headline: str
    checks: list[Check] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    next_steps: list[str] = field(default_factory=list)
    exit_code: int = ExitCode.OK
    # How a fact whose value is null reads in the text output ("none" otherwise).
    none_means: dict[str, str] = field(default_factory=dict)

    def add(self, check: Check) -> Check:
        """Append a check and return it."""
        self.checks.append(check)
        return check

    def check(self, check_id: str) -> Check | None:
        """The check with this id, if the report has one."""
        return next((c for c in self.checks if c.id == check_id), None)

    def count(self, status: Status) -> int:
        """How many checks have this status."""
        return sum(1 for c in self.checks if c.status == status)

    def exit_code_from_checks(self) -> int:
        """7 when any check is a problem, 6 when only warnings, else 0."""
        if self.count("problem"):
            return ExitCode.ATTENTION
        if self.count("warning"):
            return ExitCode.WARNINGS
        return ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: everything, plus the status counts."""
        data = asdict(self)
        del data["none_means"]
        data["exit_code"] = int(self.exit_code)
        data["counts"] = {s: self.count(s) for s in _MARKS}
        return data


def render_text(report: Report) -> str:
    """The report as people read it in a terminal."""
    lines = [report.headline]
    if report.facts:
        labels = {key: key.replace("_", " ") for key in report.facts}
        width = max(len(label) for label in labels.values())
        lines += [
            f"  {labels[key]:<{width}}  {_fact(value, report.none_means.get(key, '-'))}"
            for key, value in report.facts.items()
        ]
    if report.checks:
        lines.append("")
        title_width = max(len(c.title) for c in report.checks)
        for c in report.checks:
            lines.append(f"  {_MARKS[c.status]:<8} {c.title:<{title_width}}  {c.summary}")
            if c.fix and c.status in ("warning", "problem"):
                lines.append(f"  {'':<8} {'':<{title_width}}  fix: {c.fix}")
    if report.next_steps:
        lines += ["", "Next steps:"]
        lines += [f"  {n}. {step}" for n, step in enumerate(report.next_steps, 1)]
    if report.command == "doctor":
        problems, warnings = report.count("problem"), report.count("warning")
        if problems or warnings:
            verdict = f"{_plural(problems, 'problem')}, {_plural(warnings, 'warning')}"
        else:
            verdict = "all checks passed"
        lines += ["", f"Result: {verdict} (exit code {int(report.exit_code)})."]
    return "\n".join(lines)


def emit(report: Report, as_json: bool, stream: TextIO | None = None) -> int:
    """Print the report (text or one JSON document) and return its exit code."""
    out = stream or sys.stdout
    if as_json:
        out.write(json.dumps(report.to_dict(), indent=2, default=_json_value) + "\n")
    else:
        out.write(render_text(report) + "\n")
    return int(report.exit_code)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _fact(value: Any, none: str) -> str:
    if value is None or value == "":
        return none
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        seconds = (datetime.now(UTC) - value).total_seconds()
        return f"{value.astimezone().strftime('%Y-%m-%d %H:%M:%S %Z')} ({ago(seconds)})"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) if value else "-"
    return str(value)


def ago(seconds: float) -> str:
    """`42 s ago`, `5 min ago`, `3 h ago`, `2 days ago`."""
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
