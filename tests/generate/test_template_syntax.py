"""Template syntax on a diet: few `# copier:` lines, each around whole statements.

Counted: every `# copier:` line of the files copier renders and of copier.yml's exclusions,
that is every tracked file but docs/ (the guide's examples, never rendered) and the lock files
requirements/*.txt (their blocks are written by requirements/lock.py from pyproject.toml's).
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

from tests.helpers.processes import ROOT
from tests.helpers.template import git

# Raise it only for a block that cannot be a file of its own (an option's whole file goes in
# copier.yml's `_exclude`), and say why in the commit. 96 before the `database` option, whose
# wiring (compose service, env examples, settings base, deploy) added 54; its runtime side
# (the engine owned by BotRuntime, the lifespan's session and users record, the harness's
# empty database) 18.
BUDGET = 170
TAG = re.compile(r"^[ \t]*(?:<!-- )?# copier:(?P<tag>.*)$", re.MULTILINE)
# The one block inside brackets of Python code: a class's bases cannot be a statement of their
# own, and `Settings` takes the Redis section as a base (SECTIONS, the docs' order, follow them).
BASES_BLOCK = {"bot/settings/model.py"}


def counted_files() -> dict[str, str]:
    """The tracked files whose `# copier:` lines count, by path, with their text."""
    names = git(ROOT, "ls-files").splitlines()
    kept = [
        n
        for n in names
        if not n.startswith("docs/") and not re.fullmatch(r"requirements/.*\.txt", n)
    ]
    return {n: (ROOT / n).read_text(errors="ignore") for n in kept if (ROOT / n).is_file()}


def test_the_template_has_at_most_its_budget_of_copier_lines() -> None:
    counts = {name: len(TAG.findall(text)) for name, text in counted_files().items()}
    total = sum(counts.values())
    by_file = sorted(((c, n) for n, c in counts.items() if c), reverse=True)
    assert total <= BUDGET, f"{total} `# copier:` lines (budget {BUDGET}): {by_file}"


def test_no_filter_edits_the_text_of_a_line() -> None:
    filters = [
        f"{name}: {match.group(0).strip()}"
        for name, text in counted_files().items()
        for match in TAG.finditer(text)
        if match.group("tag").split()[:1] in (["filter"], ["endfilter"])
    ]
    assert not filters, "a name or a value comes from one place, not a filter: " + str(filters)


def python_tags_inside_code(text: str) -> list[int]:
    """Line numbers of `# copier:` lines inside a string literal or between brackets."""
    tag_lines = {text.count("\n", 0, m.start()) + 1 for m in TAG.finditer(text)}
    whole: set[int] = set()
    depth = 0
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
        elif token.type == tokenize.COMMENT and depth == 0:
            whole.add(token.start[0])
    return sorted(tag_lines - whole)


def test_no_copier_line_sits_inside_a_python_expression_or_string() -> None:
    inside = {
        name: lines
        for name, text in counted_files().items()
        if Path(name).suffix == ".py" and name not in BASES_BLOCK
        if (lines := python_tags_inside_code(text))
    }
    assert not inside, f"block tags go around whole statements only: {inside}"
