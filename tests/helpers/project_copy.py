"""A copy of the project as a fresh clone has it, and `python run.py` run in such a copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from bot.settings import env_names
from tests.helpers.processes import ROOT, Program


def fresh_copy(destination: Path, only: Iterable[str] | None = None) -> Path:
    """The project's files as a fresh clone has them (tracked and new, never ignored ones such
    as `.env.local`), copied to `destination`; `only` keeps just these top-level entries."""
    if shutil.which("git") is None:
        pytest.skip("needs git (Debian package `git`)")
    if not (ROOT / ".git").exists():
        pytest.skip("needs the project in git: `git init`, `git add -A` (what a clone has)")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    keep = set(only) if only is not None else None
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_file() or (keep is not None and name.split("/")[0] not in keep):
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return destination


def run_py(project: Path, *args: str) -> Program:
    """`python run.py ...` in `project`, with none of the bot's variables inherited."""
    env = {k: v for k, v in os.environ.items() if k not in env_names()}
    return Program([sys.executable, "run.py", *args], {**env, "PYTHONUNBUFFERED": "1"}, cwd=project)
