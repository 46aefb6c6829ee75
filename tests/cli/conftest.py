"""Fixtures of the operator-command tests: a project root of their own, the CLI in-process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from tests.helpers.cli import Cli, CliResult, write_env
from tests.helpers.constants import SECRET


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project root the commands look at: its `.env.*` files are the test's."""
    root = tmp_path / "project"
    root.mkdir()
    return root


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
