"""The docs' configuration table is generated from the Settings fields (docs/hooks/).

The docs site is the template's own: copier.yml leaves this file out of generated projects."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from bot.settings import Settings
from tests.helpers.processes import ROOT


def settings_table_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "settings_table", ROOT / "docs" / "hooks" / "settings_table.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_configuration_table_is_generated_from_the_fields() -> None:
    hook = settings_table_hook()
    page = hook.on_page_markdown(f"# Configuration\n\n{hook.MARKER}\n")
    for name, field in Settings.model_fields.items():
        row = next(line for line in page.splitlines() if line.startswith(f"| `{name.upper()}` |"))
        assert field.description in row
