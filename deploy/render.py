# copier: filter replace("tg-bot", slug) | replace("tgbot", slug_id)
"""Fill in a deploy template: `{{NAME}}` is required, `{{NAME=default}}` has a default.

    python deploy/render.py deploy/nginx/bot.conf SERVER_NAME=bot.example.com \\
        > /etc/nginx/sites-available/tg-bot.conf

Values come from NAME=value arguments. A placeholder left without a value stops the rendering
with its name, so a half-filled file is never written. The tests render the shipped files with
this same script (test ports, paths and certificates) before running nginx and systemd-analyze.
Only the standard library: it runs before the project is installed.
"""
# copier: endfilter

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

PLACEHOLDER = re.compile(r"\{\{\s*([A-Z][A-Z0-9_]*)\s*(?:=([^}]*))?\}\}")


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
    """`render.py TEMPLATE [NAME=value ...]`: the rendered text on stdout."""
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    template = Path(argv[0]).read_text(encoding="utf-8")
    values: dict[str, str] = {}
    for argument in argv[1:]:
        name, sep, value = argument.partition("=")
        if not sep:
            print(f"{argument!r} is not NAME=value", file=sys.stderr)
            return 2
        values[name] = value
    unknown = sorted(set(values) - set(placeholders(template)))
    if unknown:
        print(f"{argv[0]} has no placeholder {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:
        sys.stdout.write(render(template, values))
    except MissingValues as exc:
        print(f"{argv[0]} needs a value for: {exc} (pass NAME=value)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
