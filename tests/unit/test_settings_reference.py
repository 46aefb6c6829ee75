"""The settings are declared once: the env examples are held to the fields (the docs' table:
tests/unit/test_docs_settings_table.py)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from bot.settings import Settings, env_names, read_settings
from tests.helpers.processes import ROOT

LINE = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


def example_lines(env: str) -> dict[str, tuple[bool, str]]:
    """{KEY: (commented out, value)} of `env/.env.<env>.example`."""
    lines = (ROOT / "env" / f".env.{env}.example").read_text().splitlines()
    found = (LINE.match(line.strip()) for line in lines)
    return {m[2]: (m[1] is not None, m[3].strip()) for m in found if m}


def listed_in(env: str) -> set[str]:
    """The keys whose field says the env example of `env` lists them."""
    return {
        name.upper()
        for name, field in Settings.model_fields.items()
        if env in (field.json_schema_extra or {}).get("env_examples", [])  # type: ignore[operator, union-attr]
    }


@pytest.mark.parametrize("env", ["local", "production"])
def test_each_env_example_lists_exactly_the_keys_its_fields_name(env: str) -> None:
    keys = set(example_lines(env))
    assert keys <= set(env_names()), f"unknown keys: {keys - set(env_names())}"
    assert keys == listed_in(env)


@pytest.mark.parametrize("env", ["local", "production"])
def test_an_env_example_states_defaults_truly_and_every_value_in_it_is_valid(
    env: str, tmp_path: Path
) -> None:
    lines = example_lines(env)
    uncommented = tmp_path / "all-values.env"
    uncommented.write_text("".join(f"{key}={value}\n" for key, (_, value) in lines.items()))
    read = read_settings(env_file=uncommented, root=tmp_path, environment=False)
    assert not read.invalid, [p for p in read.problems if "is not valid" in p]

    defaults = read_settings(overrides={"APP_ENV": env}, root=tmp_path, environment=False).partial
    for key, (commented, value) in lines.items():
        name = key.lower()
        no_default = Settings.model_fields[name].get_default(call_default_factory=True) in (
            None,
            (),
        )
        if commented or not value or no_default:
            continue  # an example to uncomment, an empty value, or a placeholder to replace
        assert getattr(read.partial, name) == getattr(defaults, name), f"{key}={value}"


def test_a_setting_a_handler_reads_lives_in_its_field_the_env_examples_and_the_handler() -> None:
    # ADMIN_IDS, read by handlers/admin.py (and handlers/__init__.py: admins are not
    # throttled): nothing of the runtime had to change for it.
    tracked = subprocess.run(
        # (the translations of handlers/ quote the admin command's texts: not a reader)
        [
            "git",
            "grep",
            "-l",
            "-i",
            "admin_ids",
            "--",
            ".",
            ":!tests",
            ":!docs",
            ":!README.md",
            ":!handlers/locales",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if tracked.returncode not in (0, 1):
        pytest.skip(f"needs the project in git (`git init`, `git add -A`): {tracked.stderr}")
    assert set(tracked.stdout.split()) == {
        "handlers/settings.py",
        "env/.env.local.example",
        "env/.env.production.example",
        "handlers/__init__.py",
        "handlers/admin.py",
    }
