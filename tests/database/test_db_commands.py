"""`python -m bot db ...` as an operator runs it, on both engines: the revision before and
after, the exit codes, and never the password."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.processes import ROOT, free_port, write_env_file

TOKEN = "123456789:AAH-secret_part_of_the_token"


def db(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "db", *args, "--env-file", str(env_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_upgrade_current_and_downgrade_report_the_revision(
    database_url: str, tmp_path: Path
) -> None:
    env_file = write_env_file(
        tmp_path / ".env.test", {"BOT_TOKEN": TOKEN, "DATABASE_URL": database_url}
    )
    before = db(env_file, "current")
    assert before.returncode == 0 and "WARNING" in before.stdout and "db upgrade" in before.stdout
    upgraded = db(env_file, "upgrade")
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert "Upgraded from none to 0001." in upgraded.stdout
    assert "Already at 0001." in db(env_file, "upgrade").stdout
    assert "at head (0001)" in db(env_file, "current").stdout
    assert "Downgraded from 0001 to none." in db(env_file, "downgrade", "base").stdout
    password = database_url.partition("://")[2].partition("@")[0].partition(":")[2]
    outputs = before.stdout + before.stderr + upgraded.stdout + upgraded.stderr
    assert not password or password not in outputs


def test_an_unreachable_database_exits_7_naming_it_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://bot:hunter2-pw@127.0.0.1:{free_port()}/bot"
    env_file = write_env_file(tmp_path / ".env.test", {"BOT_TOKEN": TOKEN, "DATABASE_URL": url})
    result = db(env_file, "upgrade")
    assert result.returncode == 7
    assert "did not answer" in result.stdout and "bot:***@127.0.0.1" in result.stdout
    assert "hunter2-pw" not in result.stdout + result.stderr
