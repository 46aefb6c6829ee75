"""One source of truth: the repository root is the template. Rendered with the root's own
answers (and the default options), every file comes out as the root has it, minus its
`# copier:` lines and the template's own lines (`# copier: if false` blocks); the files that
do not come out are the template's own, by name."""

from __future__ import annotations

import difflib
from pathlib import Path

from tests.helpers.processes import ROOT
from tests.helpers.template import (
    ROOT_ANSWERS,
    project_files,
    render,
    template_repo,
    without_directives,
)

# The template's own files (copier.yml `_exclude`), and the two files rendered from others.
TEMPLATE_ONLY = (
    "copier.yml",
    "CHANGELOG.md",
    "mkdocs.yml",
    "docs/",
    "bench/",
    "tests/bench/",
    "tests/generate/",
    "tests/helpers/template.py",
    "tests/unit/test_docs_settings_table.py",
    "tests/unit/test_windows_docs.py",
    ".copier/",
    "[[= _copier_conf.answers_file =]]",
)
GENERATED = ("README.md", ".copier-answers.yml")  # from .copier/README.md, the answers file


def test_the_root_files_are_the_rendering_of_the_root_with_its_own_answers(
    tmp_path: Path,
) -> None:
    template = template_repo(tmp_path / "template")
    project = render(template, tmp_path / "project", ROOT_ANSWERS)
    rendered = project_files(project)
    sources = project_files(template)

    differences = []
    for name, path in rendered.items():
        if name in GENERATED:
            continue
        if b"\0" in sources[name].read_bytes():  # a binary file (a compiled catalog): as is
            if path.read_bytes() != sources[name].read_bytes():
                differences.append(f"{name}: the binary file changed in the rendering")
            continue
        expected = without_directives(sources[name].read_text(encoding="utf-8"))
        actual = path.read_text(encoding="utf-8")
        if actual != expected:
            diff = difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                f"{name} (root, without its `# copier:` lines)",
                f"{name} (rendered with the root's answers)",
            )
            differences.append("".join(diff))
    assert not differences, "\n".join(differences)

    left_out = {name for name in sources if name not in rendered and name != "README.md"}
    unexpected = sorted(n for n in left_out if not n.startswith(TEMPLATE_ONLY))
    assert not unexpected, f"root files missing from the default rendering: {unexpected}"
    assert set(GENERATED) <= set(rendered)
    assert (ROOT / ".copier" / "README.md").is_file()
