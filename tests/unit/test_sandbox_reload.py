"""`--sandbox --reload`: the sandbox's flags with the reloader (a project with the sandbox only:
copier excludes this file without it, as it excludes bot/sandbox_mode.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import build_parser, main
from bot.exit_codes import ExitCode
from bot.reload import child_command
from tests.helpers.constants import TOKEN, WEBHOOK
from tests.helpers.processes import write_env_file


def test_the_reloaded_bot_gets_none_of_the_sandboxs_flags() -> None:
    sandbox = child_command(build_parser().parse_args(["--sandbox", "--reload", "--open"]))
    assert sandbox[2:] == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--reload"],
        ["run", "--reload", "--mode", "webhook"],
        ["--sandbox", "--reload", "--mode", "webhook"],
    ],
)
def test_webhook_mode_is_refused_naming_the_sandbox_and_gunicorn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    write_env_file(tmp_path / ".env.local", {"BOT_TOKEN": TOKEN, **WEBHOOK})
    assert main(argv, root=tmp_path) == ExitCode.CONFIG
    output = capsys.readouterr()
    assert "gunicorn --reload" in output.err
    assert "python run.py --sandbox --reload" in output.err
    assert "Sandbox:" not in output.out  # refused before a sandbox started
