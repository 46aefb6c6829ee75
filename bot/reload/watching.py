"""Which changed files restart the bot: the project's Python files, everything in `handlers/`
and the env file; never caches, virtualenvs, editors' temporary files, or the folders the
running bot does not load (tests, docs, the sandbox, deploy files)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from pathlib import Path

from watchfiles import Change, DefaultFilter

# Folders (at any depth below the project root) whose files never restart the bot: caches
# and virtualenvs (watchfiles' own list and a few more), and the project's folders that the
# bot does not import. `sandbox/` is among them: with --sandbox the emulator runs in the
# supervisor, which a restart of the bot does not reload.
IGNORED_FOLDERS = frozenset(
    {
        *DefaultFilter.ignore_dirs,
        "venv",
        ".ruff_cache",
        ".cache",
        "build",
        "dist",
        "site",
        "htmlcov",
        "tests",
        "docs",
        "bench",
        "deploy",
        "sandbox",
    }
)
# Editors' swap and backup files (watchfiles' list), and what tests and tools write aside.
IGNORED_NAMES = tuple(
    re.compile(pattern)
    for pattern in (*DefaultFilter.ignore_entity_patterns, r"\.tmp$", r"\.egg-info$")
)
# Everything in here is the user's code or its data (texts, templates), whatever its type.
HANDLERS_FOLDER = "handlers"
# The runtime, which the warm parent of a `--reload` has imported: a change here replaces it.
RUNTIME_PARTS = frozenset({"bot", "run.py"})


class ProjectFilter:
    """A watchfiles filter: True for a change that should restart the bot."""

    def __init__(self, root: Path, env_file: Path | None) -> None:
        self.root = root.resolve()
        self.env_file = env_file.resolve() if env_file is not None else None

    def __call__(self, change: Change, path: str) -> bool:
        """Whether this change of `path` restarts the bot."""
        changed = Path(path)
        if self.env_file is not None and changed == self.env_file:
            return True
        try:
            parts = changed.relative_to(self.root).parts
        except ValueError:  # beside an env file kept outside the project
            return False
        if not parts or any(part in IGNORED_FOLDERS for part in parts[:-1]):
            return False
        if any(pattern.search(parts[-1]) for pattern in IGNORED_NAMES):
            return False
        return changed.suffix == ".py" or parts[0] == HANDLERS_FOLDER

    def touches_runtime(self, paths: Iterable[str]) -> bool:
        """Whether a batch changes the runtime (`bot/`, `run.py`) rather than the user's code
        (`handlers/`, the user's own modules) or the env file."""
        for path in paths:
            with contextlib.suppress(ValueError):
                parts = Path(path).relative_to(self.root).parts
                if parts and parts[0] in RUNTIME_PARTS:
                    return True
        return False

    def paths(self) -> list[Path]:
        """The folders to watch: the project, and the env file's folder when outside it."""
        folders = [self.root]
        if self.env_file is not None and not self.env_file.is_relative_to(self.root):
            folders.append(self.env_file.parent)
        return folders

    def names(self, paths: Iterable[str]) -> set[str]:
        """How a batch of changed files is named in the restart line: relative to the project,
        and only those still there unless all are gone (an editor's or sed's temporary file,
        written and removed within the batch, is not what the developer changed)."""
        changed = [Path(path) for path in paths]
        shown = [path for path in changed if path.exists()] or changed
        return {self._name(path) for path in shown}

    def _name(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


def describe(names: Iterable[str]) -> str:
    """`handlers/echo.py`, or `handlers/echo.py and 2 more files` for a batch of changes."""
    unique = sorted(set(names))
    if len(unique) <= 1:
        return unique[0] if unique else "nothing"
    more = len(unique) - 1
    return f"{unique[0]} and {more} more file{'s' if more > 1 else ''}"
