"""bot/ is a graph without cycles, imports inside functions included, and no module in it is
long enough to hold two concerns.

import-linter's contracts check the layers between packages; a cycle inside one layer (two
modules of one package importing each other, one of them inside a function) passes them.
grimp, which import-linter is built on, records every import statement, at module level or
not, so a cycle hidden in a late import is found here too.
"""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"
# The size guide of docs/architecture.md: past it, a module has usually grown a second concern.
MAX_MODULE_LINES = 300


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), or a module that
    imports itself: each is at least one cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        # Recursive: bot/ has a few hundred modules, far below the recursion limit.
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1 or module in graph.find_modules_directly_imported_by(module):
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def describe(graph: grimp.ImportGraph, cycle: list[str]) -> str:
    """Each import inside the cycle, with its file line, so the message shows where to cut."""
    members = set(cycle)
    lines = []
    for importer in cycle:
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & members):
            for detail in graph.get_import_details(importer=importer, imported=imported):
                lines.append(
                    f"  {importer} line {detail['line_number']}: {detail['line_contents']}"
                )
    return "\n".join(lines)


def test_a_cycle_through_a_late_import_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "late_cycle"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "facade.py").write_text("from late_cycle.part import build\n")
    (package / "part.py").write_text(
        "def build():\n    from late_cycle.facade import build as again\n    return again\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("late_cycle", cache_dir=None)
    assert import_cycles(graph) == [["late_cycle.facade", "late_cycle.part"]]
    assert "line 2: from late_cycle.facade import build as again" in describe(
        graph, ["late_cycle.facade", "late_cycle.part"]
    )


def test_bot_has_no_import_cycle_late_imports_included() -> None:
    graph = grimp.build_graph("bot", cache_dir=None)
    cycles = import_cycles(graph)
    assert not cycles, (
        "Import cycles in bot/ (a facade imports its parts, the parts never import the facade: "
        "pass them what they need):\n" + "\n\n".join(describe(graph, c) for c in cycles)
    )


@pytest.mark.parametrize("path", sorted(BOT.rglob("*.py")), ids=lambda p: str(p.relative_to(BOT)))
def test_no_module_of_bot_is_over_the_size_guide(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, (
        f"bot/{path.relative_to(BOT).as_posix()} has {lines} lines, over {MAX_MODULE_LINES}: "
        "find its second concern and move it to a module of its own."
    )
