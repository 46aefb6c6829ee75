"""Headless Chromium for the chat page's tests: Debian's `chromium`, never a downloaded one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers.processes import ROOT

CHROMIUM = "/usr/bin/chromium"
# Offline and quiet: no sandbox (CI runs as root), no GPU, no calls home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> str:
    """The browser binary, or skip naming the Debian package."""
    found = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if found is None:
        pytest.skip("the chat page tests need Debian's `chromium` (apt-get install chromium)")
    return found


def artifacts_dir() -> Path:
    """Where CI keeps what a run leaves behind: $CI_ARTIFACTS, else artifacts/ (git-ignored)."""
    folder = Path(os.environ.get("CI_ARTIFACTS") or ROOT / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
