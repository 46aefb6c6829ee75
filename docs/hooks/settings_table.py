"""mkdocs hook: `<!-- settings-table -->` in a page becomes the table of every setting.

The table is made from the `Settings` fields (bot/settings/model.py) at build time, so the
documented keys, defaults and descriptions are the code's own and cannot drift.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from bot.settings.model import SECTIONS

MARKER = "<!-- settings-table -->"


def shown_default(field: FieldInfo) -> str:
    """The default as the docs show it."""
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if isinstance(extra.get("shown_default"), str):
        return str(extra["shown_default"])
    default = field.get_default(call_default_factory=False)
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, tuple):
        return f"`{','.join(map(str, default))}`" if default else "none"
    if isinstance(default, float) and default.is_integer():
        default = int(default)
    return f"`{default}`"


def section_table(section: type[BaseModel]) -> list[str]:
    """One section: its docstring as a heading line, then a row per field."""
    title = (section.__doc__ or section.__name__).strip()
    lines = [f"**{title}**", "", "| variable | meaning | default |", "|---|---|---|"]
    for name, field in section.model_fields.items():
        lines.append(f"| `{name.upper()}` | {field.description} | {shown_default(field)} |")
    return [*lines, ""]


def settings_table() -> str:
    """Every section's table, in the order of SECTIONS."""
    return "\n".join(line for section in SECTIONS for line in section_table(section))


def on_page_markdown(markdown: str, **_: Any) -> str:
    """mkdocs' hook: put the generated table where the page asks for it."""
    return markdown.replace(MARKER, settings_table()) if MARKER in markdown else markdown
