"""Fill in a deploy template: `{{KEY}}` is required, `{{KEY=default}}` has a default.

    python deploy/render.py deploy/nginx/bot.conf SERVER_NAME=bot.example.com \\
        > /etc/nginx/sites-available/my-bot.conf

Values come from KEY=value arguments. A placeholder left without a value stops the rendering
with its name, so a half-filled file is never written. `{{NAME}}` and `{{NAME_ID}}` are the
project's name (`name` in pyproject.toml, e.g. my-bot) and the same without hyphens (mybot):
they are filled in first, defaults included, so the service, its user, folders and nginx's
names follow the project's name without being typed. The tests render the shipped files with
this same script (test ports, paths and certificates) before running nginx and systemd-analyze.
Only the standard library: it runs before the project is installed.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

PLACEHOLDER = re.compile(r"\{\{\s*([A-Z][A-Z0-9_]*)\s*(?:=([^}]*))?\}\}")
# The project's names: filled in before the other placeholders, so defaults may hold them.
PROJECT_NAMES = re.compile(r"\{\{(NAME|NAME_ID)\}\}")
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def project_names(pyproject: Path = PYPROJECT) -> dict[str, str]:
    """`NAME` (pyproject.toml's `name`, the one place that holds it) and `NAME_ID` (no hyphens)."""
    name = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["name"]
    return {"NAME": name, "NAME_ID": name.replace("-", "")}


class MissingValues(Exception):
    """Placeholders without a value or a default."""


def placeholders(template: str) -> dict[str, str | None]:
    """Every placeholder name with its default (None when it has none)."""
    found: dict[str, str | None] = {}
    for match in PLACEHOLDER.finditer(template):
        name, default = match.group(1), match.group(2)
        if found.get(name) is None:
            found[name] = default
    return found


def render(template: str, values: Mapping[str, str]) -> str:
    """The template with every placeholder replaced; MissingValues names the missing ones."""
    defaults = placeholders(template)
    missing = sorted(
        name for name, default in defaults.items() if default is None and name not in values
    )
    if missing:
        raise MissingValues(", ".join(missing))

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        default = defaults[name]
        assert default is not None
        return default

    return PLACEHOLDER.sub(value, template)


def main(argv: Sequence[str]) -> int:
    """`render.py TEMPLATE [KEY=value ...]`: the rendered text on stdout."""
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    template = Path(argv[0]).read_text(encoding="utf-8")
    values = project_names()
    for argument in argv[1:]:
        name, sep, value = argument.partition("=")
        if not sep:
            print(f"{argument!r} is not KEY=value", file=sys.stderr)
            return 2
        values[name] = value
    template = PROJECT_NAMES.sub(lambda match: values[match.group(1)], template)
    unknown = sorted(set(values) - set(placeholders(template)) - {"NAME", "NAME_ID"})
    if unknown:
        print(f"{argv[0]} has no placeholder {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:
        sys.stdout.write(render(template, values))
    except MissingValues as exc:
        print(f"{argv[0]} needs a value for: {exc} (pass KEY=value)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
