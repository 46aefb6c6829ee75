"""Running the operators' commands in this process, and reading what they printed."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers.processes import write_env_file


@dataclass
class CliResult:
    """What `python run.py <command>` printed and returned."""

    code: int
    out: str

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.out)
        return data

    def check(self, check_id: str) -> dict[str, Any]:
        """One check of a --json report, by id."""
        return next(c for c in self.json()["checks"] if c["id"] == check_id)


Cli = Callable[..., Awaitable[CliResult]]


def write_env(project: Path, name: str, values: dict[str, str], mode: int = 0o600) -> Path:
    """Write `.env.<name>` at the project root with the given file mode."""
    path = write_env_file(project / f".env.{name}", values)
    os.chmod(path, mode)
    return path


async def doctor(cli: Cli, *args: str) -> tuple[CliResult, CliResult]:
    """The doctor's text and --json runs; both must agree on the exit code."""
    text = await cli("doctor", *args)
    as_json = await cli("doctor", "--json", *args)
    assert text.code == as_json.code == as_json.json()["exit_code"], text.out
    return text, as_json


def text_facts(output: str) -> dict[str, str]:
    """The `  label   value` lines of a text report, as {label: value}."""
    found = (re.match(r"^  (\S.*?)\s{2,}(.*)$", line) for line in output.splitlines())
    return {match[1]: match[2] for match in found if match}
