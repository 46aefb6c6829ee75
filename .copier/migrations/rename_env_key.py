"""Migration: a setting was renamed, so rename it in the project's own env files.

    python rename_env_key.py OLD_KEY NEW_KEY

copier runs it from a `_migrations` entry of copier.yml, in the project's folder, during
`copier update` and before the new version is applied (docs/generate.md, "Writing a
migration"). It rewrites `OLD_KEY=` (and the commented `# OLD_KEY=`) in `.env` and `.env.*`
at the project's root: the git-ignored files that hold the real configuration, which the
update itself never sees. The env/*.example files are the template's and come with the update.
Only the standard library: it runs with copier's Python, before the project is installed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def rename_key(text: str, old: str, new: str) -> tuple[str, int]:
    """`text` with `old=` renamed to `new=` (commented lines too), and how many lines changed."""
    pattern = re.compile(rf"^(\s*#?\s*(?:export\s+)?){re.escape(old)}(\s*=)", re.MULTILINE)
    return pattern.subn(rf"\g<1>{new}\g<2>", text)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python rename_env_key.py OLD_KEY NEW_KEY", file=sys.stderr)
        return 2
    old, new = argv
    for path in sorted(Path.cwd().glob(".env*")):
        if not path.is_file():
            continue
        text, count = rename_key(path.read_text(encoding="utf-8-sig"), old, new)
        if count:
            path.write_text(text, encoding="utf-8")
            print(f"{path.name}: {old} renamed to {new} ({count} line(s))")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
