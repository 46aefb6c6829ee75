"""The lock files: every dependency of pyproject.toml pinned there, with hashes, the server's
lock a part of the development one, and the README's test command the one CI runs."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.settings.observability import SENTRY_SDK
from tests.helpers.processes import ROOT

LOCKS = ROOT / "requirements"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^ ;\\]+)", re.M)


def pins(lock: str) -> dict[str, set[str]]:
    """{package: its pinned versions} (two where markers split a package by Python version)."""
    found: dict[str, set[str]] = {}
    for match in PIN.finditer((LOCKS / lock).read_text(encoding="utf-8")):
        found.setdefault(canonicalize_name(match["name"]), set()).add(match["version"])
    return found


def requirements(*, dev: bool) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    wanted = [*project["dependencies"]]
    for name, listed in extras.items():
        if dev or name != "dev":
            wanted += listed
    return [Requirement(text) for text in wanted]


@pytest.mark.parametrize(("lock", "dev"), [("dev.txt", True), ("prod.txt", False)])
def test_every_requirement_of_pyproject_is_pinned_within_its_bounds(lock: str, dev: bool) -> None:
    pinned = pins(lock)
    for requirement in requirements(dev=dev):
        versions = pinned.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement} is not in requirements/{lock}: python requirements/lock.py"
        assert any(requirement.specifier.contains(v, prereleases=True) for v in versions), (
            f"requirements/{lock} pins {requirement.name} {versions}, outside {requirement}: "
            "run python requirements/lock.py"
        )


def test_the_server_lock_pins_the_same_versions_as_the_development_lock() -> None:
    dev, prod = pins("dev.txt"), pins("prod.txt")
    assert prod.keys() <= dev.keys()
    assert {name: dev[name] for name in prod} == prod


@pytest.mark.parametrize("lock", ["dev.txt", "prod.txt"])
def test_every_pinned_package_carries_its_hashes(lock: str) -> None:
    text = (LOCKS / lock).read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert entries
    for entry in entries:
        if PIN.match(entry):
            assert "--hash=sha256:" in entry, entry.splitlines()[0]


def test_the_sentry_bound_the_settings_check_is_the_one_pyproject_installs() -> None:
    sentry = [r for r in requirements(dev=False) if r.name == "sentry-sdk"]
    assert [str(r) for r in sentry] == [str(Requirement(SENTRY_SDK))]


def test_ci_runs_the_readmes_test_command_word_for_word() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Run the tests", 1)[1]
    command = re.search(r"```bash\n(?P<line>.+?)\n```", section, re.S)
    assert command is not None
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert command["line"] in ci.splitlines()
