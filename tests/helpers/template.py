"""The project as a copier template: a git snapshot of the working tree, projects rendered from
it with the `copier` command, and a virtualenv to run a rendered project in.

Template-only (copier.yml excludes it from generated projects, like tests/generate/).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from pathlib import Path

import pytest

from bot.settings import env_names
from tests.helpers.project_copy import fresh_copy

# A `# copier:` line is template syntax: rendering removes it (copier.yml, `block_start_string`).
DIRECTIVE = re.compile(r"^[ \t]*# copier:.*\n?", re.MULTILINE)
# Lines of the template's own (its docs site, its benchmarks): never in a generated project.
# An `if false` block with an `else` is not one: its lines are the root's, and its `else`
# includes a fragment of .copier/ that renders to them with the root's answers.
TEMPLATE_ONLY_LINES = re.compile(
    r"^[ \t]*# copier: if false\n(?:(?!^[ \t]*# copier: else).)*?^[ \t]*# copier: endif\n",
    re.MULTILINE | re.DOTALL,
)
# The root's own answers: rendered with them, every root file comes out as it is.
ROOT_ANSWERS = {
    "bot_name": "tg-bot",
    "slug": "tg-bot",
    "description": (
        "An aiogram 3 bot template: conflict-free polling in development, a webhook behind "
        "nginx and gunicorn in production."
    ),
    "author": "The tg-bot template authors",
}
EVERY_OPTION_OFF = {
    "redis": False,
    "database": False,
    "docker": False,
    "sandbox": False,
    "example_handlers": False,
}
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` with a fixed identity (no user configuration needed); its stdout."""
    if shutil.which("git") is None:
        pytest.skip("needs git (Debian package `git`)")
    env = {**os.environ, **GIT_IDENTITY, "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"git {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def commit_all(repo: Path, message: str, tag: str | None = None) -> None:
    """Commit everything in `repo` (and tag the commit)."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    if tag is not None:
        git(repo, "tag", tag)


def template_repo(destination: Path, tag: str | None = None) -> Path:
    """The working tree as it is now (uncommitted changes included, ignored files not) in a
    new git repository: copier renders a git template's committed state only."""
    fresh_copy(destination)
    git(destination, "init", "-q", "-b", "main")
    commit_all(destination, "The template's working tree", tag=tag)
    return destination


def copier(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The `copier` command (as a user runs it), without prompts; fails the test on an error."""
    done = subprocess.run(
        [sys.executable, "-m", "copier", *args],
        cwd=cwd,
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, f"copier {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done


def data_flags(answers: Mapping[str, object]) -> list[str]:
    """`--data KEY=VALUE` for each answer (booleans as copier reads them)."""
    flags: list[str] = []
    for key, value in answers.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        flags += ["--data", f"{key}={text}"]
    return flags


def render(template: Path, destination: Path, answers: Mapping[str, object] = {}) -> Path:
    """`copier copy` of the template's HEAD with the defaults and `answers`."""
    copier(
        "copy",
        "--trust",
        "--defaults",
        "--vcs-ref",
        "HEAD",
        *data_flags(answers),
        str(template),
        str(destination),
    )
    return destination


def project_files(project: Path) -> dict[str, Path]:
    """Every file of a rendered project, by its path relative to the project."""
    return {
        path.relative_to(project).as_posix(): path
        for path in sorted(project.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(project).parts
    }


def without_directives(text: str) -> str:
    """A root file as its rendering with the root's answers must read: without the template's
    own lines (`# copier: if false` blocks), and without its `# copier:` lines."""
    return DIRECTIVE.sub("", TEMPLATE_ONLY_LINES.sub("", text))


class ProjectEnv:
    """A virtualenv for one rendered project: this environment's packages (the dependencies,
    already installed) plus the project itself, installed in editable mode without a build."""

    def __init__(self, project: Path, mypy_cache: Path) -> None:
        self.project = project
        self.mypy_cache = mypy_cache
        self.venv = project / ".venv"
        self.python = self.venv / (
            "Scripts/python.exe" if sys.platform == "win32" else "bin/python"
        )

    def create(self) -> ProjectEnv:
        # Not `--system-site-packages`: from inside a virtualenv (the README's way) its "system"
        # is the base interpreter, which has none of the dependencies. A .pth file puts this
        # environment's own folders after the new venv's (their .pth files are not run, so
        # this checkout's editable install stays out). Its pip and setuptools build offline.
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(self.venv)], check=True)
        site = subprocess.run(
            [str(self.python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        ours = dict.fromkeys(sysconfig.get_path(kind) for kind in ("purelib", "platlib"))
        (Path(site) / "outer-environment.pth").write_text("\n".join(ours) + "\n")
        install = ["pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", "."]
        self.run("-m", *install, timeout=180).check_returncode()
        return self

    @property
    def env(self) -> dict[str, str]:
        # None of the developer's bot variables, nor this checkout on the import path.
        env = {k: v for k, v in os.environ.items() if k not in env_names() and k != "PYTHONPATH"}
        return {**env, "PYTHONUNBUFFERED": "1", "MYPY_CACHE_DIR": str(self.mypy_cache)}

    def run(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        """`python ARGS` in the project's virtualenv, from the project's folder."""
        return subprocess.run(
            [str(self.python), *args],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
