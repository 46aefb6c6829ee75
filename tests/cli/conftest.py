"""Fixtures of the operator-command tests: a project root of their own, the CLI in-process."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from tests.support import write_env_file

SECRET = "s" * 40


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


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project root the commands look at: its `.env.*` files are the test's."""
    root = tmp_path / "project"
    root.mkdir()
    return root


def write_env(project: Path, name: str, values: dict[str, str], mode: int = 0o600) -> Path:
    """Write `.env.<name>` at the project root with the given file mode."""
    path = write_env_file(project / f".env.{name}", values)
    os.chmod(path, mode)
    return path


@pytest.fixture
def local_env(project: Path, polling_env: dict[str, str]) -> dict[str, str]:
    """A healthy `.env.local`: polling, against the emulator."""
    write_env(project, "local", polling_env)
    return polling_env


@pytest.fixture
def production_env(polling_env: dict[str, str]) -> dict[str, str]:
    """Production values (webhook mode) for the same bot; the webhook URL is set per test."""
    return {
        **polling_env,
        "APP_ENV": "production",
        "BOT_MODE": "webhook",
        "WEBHOOK_BASE_URL": "http://127.0.0.1:9",
        "WEBHOOK_SECRET": SECRET,
    }


@pytest.fixture
def cli(project: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run `main([...])` in a worker thread (it runs its own event loop) with this project root."""

    async def run(*argv: str) -> CliResult:
        capsys.readouterr()
        code = await asyncio.to_thread(main, list(argv), project)
        return CliResult(code, capsys.readouterr().out)

    return run
