"""The Windows commands people copy: the README's blocks are the Windows page's, they install
the project before running it, and each is written the way its shell needs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers.processes import ROOT

# A fenced block, possibly indented (the Windows page puts them in tabs).
FENCE = re.compile(
    r"^(?P<indent> *)```(?P<shell>powershell|bat)\n(?P<body>.*?)^(?P=indent)```$", re.M | re.S
)
README = ROOT / "README.md"
WINDOWS_PAGE = ROOT / "docs" / "windows.md"


def shell_blocks(path: Path) -> list[tuple[str, str]]:
    """(shell, text) of each PowerShell and cmd block, its indentation removed."""
    blocks = []
    for match in FENCE.finditer(path.read_text(encoding="utf-8")):
        width = len(match["indent"])
        lines = [line[width:] for line in match["body"].splitlines()]
        blocks.append((match["shell"], "\n".join(lines)))
    return blocks


ALL_BLOCKS = [
    pytest.param(shell, text, id=f"{path.name}:{shell}:{n}")
    for path in (README, WINDOWS_PAGE)
    for n, (shell, text) in enumerate(shell_blocks(path))
]


def test_the_readmes_windows_blocks_are_the_windows_pages_text() -> None:
    readme = shell_blocks(README)
    assert {shell for shell, _ in readme} == {"powershell", "bat"}
    page = shell_blocks(WINDOWS_PAGE)
    for block in readme:
        assert block in page, f"README block not on docs/windows.md:\n{block[1]}"


@pytest.mark.parametrize("shell", ["powershell", "bat"])
def test_the_first_windows_commands_install_the_project_before_running_it(shell: str) -> None:
    first = next(text for kind, text in shell_blocks(README) if kind == shell)
    locked = first.find("-m pip install -r requirements\\dev.txt")
    project = first.find("-m pip install --no-deps -e .")
    assert -1 < locked < project < first.find("run.py"), first
    assert first.startswith("py -m venv .venv"), first


@pytest.mark.parametrize(("shell", "text"), ALL_BLOCKS)
def test_each_windows_block_is_written_the_way_its_shell_needs(shell: str, text: str) -> None:
    assert "'." not in text  # cmd passes single quotes on: '.[dev]' is no path there
    for bash_only in ("source ", "export ", "cp ", "./", "&& \\"):
        assert bash_only not in text
    if shell == "powershell":
        assert "&&" not in text  # PowerShell 5.1, the one Windows ships, has no &&
        # Bare `activate` runs Activate.ps1, which the default execution policy blocks.
        assert "Scripts\\activate" not in text.replace("Activate.ps1", "")
    else:
        assert "$env:" not in text and "if ($?)" not in text


def test_the_windows_page_names_the_execution_policy_way_out() -> None:
    page = WINDOWS_PAGE.read_text(encoding="utf-8")
    assert "Set-ExecutionPolicy -Scope CurrentUser RemoteSigned" in page
    assert "taskkill /F /PID" in page
