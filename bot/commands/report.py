"""What every operator command prints: a list of checks or steps, facts, next steps.

Text for people by default, one JSON document with `--json` for scripts. The exit code is part
of the report, so a deploy script can rely on it whatever the output format.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any, Literal, TextIO

from bot.exit_codes import ExitCode

Status = Literal["ok", "warning", "problem", "skipped"]

_MARKS: dict[Status, str] = {
    "ok": "ok",
    "warning": "WARNING",
    "problem": "PROBLEM",
    "skipped": "skipped",
}


class CommandExit(IntEnum):
    """Exit codes of the operator commands (doctor, webhook, migrate, rollback).

    0-3 mean what they mean for `python run.py`; 6 and 7 are the commands' own.
    """

    OK = ExitCode.OK  # all is well (or already done)
    ERROR = ExitCode.ERROR  # unexpected error: a bug, read the traceback
    CONFIG = ExitCode.CONFIG  # invalid configuration or usage
    LOCKED = ExitCode.LOCKED  # migrate: a local poller holds the polling lock
    WARNINGS = 6  # doctor: no problem, but warnings worth reading
    ATTENTION = 7  # doctor found a problem, or the command could not do its job safely


@dataclass
class Check:
    """One line of a report: a doctor check or a step of a command."""

    id: str
    title: str
    status: Status
    summary: str
    fix: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    """The whole outcome of one command."""

    command: str
    headline: str
    checks: list[Check] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    next_steps: list[str] = field(default_factory=list)
    exit_code: int = CommandExit.OK

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
            return CommandExit.ATTENTION
        if self.count("warning"):
            return CommandExit.WARNINGS
        return CommandExit.OK

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: everything, plus the status counts."""
        data = asdict(self)
        data["exit_code"] = int(self.exit_code)
        data["counts"] = {s: self.count(s) for s in _MARKS}
        return data


def render_text(report: Report) -> str:
    """The report as people read it in a terminal."""
    lines = [report.headline]
    if report.facts:
        width = max(len(key) for key in report.facts)
        lines += [f"  {key:<{width}}  {_fact(value)}" for key, value in report.facts.items()]
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
        out.write(json.dumps(report.to_dict(), indent=2, default=str) + "\n")
    else:
        out.write(render_text(report) + "\n")
    return int(report.exit_code)


def _fact(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) if value else "-"
    return str(value)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
