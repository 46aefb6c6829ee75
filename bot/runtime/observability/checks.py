"""One line of an operator command's report (`bot.commands.report`): a check and its fix.

Here, below the commands, so that a part of the runtime checks itself in the doctor's words
(the shared state's `doctor_checks`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["ok", "warning", "problem", "skipped"]


@dataclass
class Check:
    """One line of a report: a doctor check or a step of a command."""

    id: str
    title: str
    status: Status
    summary: str
    fix: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Checks:
    """Makes the checks of one id and title: `lock = Checks("lock", "polling lock")`, then
    `lock.ok("free")`, `lock.problem("held by ...", fix="stop it")`."""

    id: str
    title: str

    def ok(self, summary: str, details: dict[str, Any] | None = None) -> Check:
        """All is well."""
        return Check(self.id, self.title, "ok", summary, details=details or {})

    def warning(self, summary: str, fix: str, details: dict[str, Any] | None = None) -> Check:
        """Worth reading, not broken."""
        return Check(self.id, self.title, "warning", summary, fix, details or {})

    def problem(
        self, summary: str, fix: str | None = None, details: dict[str, Any] | None = None
    ) -> Check:
        """Broken: the bot is silent or conflicting until it is fixed."""
        return Check(self.id, self.title, "problem", summary, fix, details or {})

    def skipped(self, summary: str) -> Check:
        """Could not be checked here."""
        return Check(self.id, self.title, "skipped", summary)
