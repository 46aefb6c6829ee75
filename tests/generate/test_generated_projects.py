"""`copier copy` from a git clone of the working tree, with the defaults and with every option
off: each project installs, starts, passes its own fast tests and its linters, carries its own
names, and holds none of the template's own files nor any trace of an option turned off."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.exit_codes import ExitCode
from tests.helpers.processes import Program
from tests.helpers.sandbox_run import PageClient, page_address
from tests.helpers.template import (
    EVERY_OPTION_OFF,
    ProjectEnv,
    project_files,
    render,
    template_repo,
)

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths and signals"),
    # On one xdist worker: the module's template and mypy cache serve every test here.
    pytest.mark.xdist_group("generated-projects"),
]

ANSWERS = {"bot_name": "Weather Bot", "author": "Ada Lovelace"}
SLUG = "weather-bot"  # what the bot's name gives
TEMPLATE_NAMES = re.compile(r"tg-bot|tgbot")
TEMPLATE_ONLY = ("bench", "docs", "mkdocs.yml", "CHANGELOG.md", "copier.yml", "tests/generate")
OFF_TRACES = {
    "docker": ("deploy/Dockerfile", "deploy/compose.yaml"),
    "sandbox": (
        "bot/sandbox_mode.py",
        "sandbox/testing",
        "sandbox/chat_page.py",
        "sandbox/static",
        "tests/sandbox_bot.py",
        "tests/browser",
    ),
    "redis": ("bot/settings/redis_section.py", "bot/runtime/shared/redis", "tests/redis"),
    "example_handlers": ("handlers/echo.py", "handlers/menu.py", "handlers/survey.py"),
    "database": (
        "bot/database",
        "bot/settings/database_section.py",
        "bot/commands/database.py",
        "handlers/models.py",
        "handlers/migrations",
        "tests/database",
        "tests/helpers/postgres.py",
    ),
}
# The example handlers by name, command or module (not the chat's command "menu").
EXAMPLES = re.compile(r"\b(echo|survey)\b|/menu|\bmenu\.")
FAST_TESTS = ("tests/unit",)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return template_repo(tmp_path_factory.mktemp("template") / "repo")


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One cache for both projects: the second checks only what differs.
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.mark.timeout(480)
@pytest.mark.parametrize("options", [{}, EVERY_OPTION_OFF], ids=["defaults", "every-option-off"])
async def test_a_generated_project_installs_runs_and_passes_its_own_checks(
    template: Path, mypy_cache: Path, tmp_path: Path, options: dict[str, bool]
) -> None:
    project = render(template, tmp_path / SLUG, {**ANSWERS, **options})
    files = project_files(project)

    # Its own names, and none of the template's (nor its own files).
    leftovers = [n for n, p in files.items() if TEMPLATE_NAMES.search(p.read_text(errors="ignore"))]
    assert not leftovers, f"the template's names are left in {leftovers}"
    assert f'name = "{SLUG}"' in files["pyproject.toml"].read_text()
    assert '{ name = "Ada Lovelace" }' in files["pyproject.toml"].read_text()
    readme = files["README.md"].read_text()
    assert readme.startswith("<!-- -->\n# Weather Bot\n") and "copier update" in readme
    assert f"systemctl enable --now {SLUG}" in readme
    assert "slug: weather-bot" in files[".copier-answers.yml"].read_text()
    assert not [n for n in files if n.startswith(TEMPLATE_ONLY)]
    off = [option for option, value in options.items() if not value]
    traces = [t for o in off for t in OFF_TRACES[o] if any(n.startswith(t) for n in files)]
    assert not traces, f"options turned off left {traces}"
    if "redis" in off:
        # The answers file records `redis: false`, for `copier update`: the one mention left.
        named = [n for n, p in files.items() if "redis" in p.read_text(errors="ignore").lower()]
        assert named == [".copier-answers.yml"], f"Redis is off, yet named in {named}"
    if "database" in off:
        named = [
            n
            for n, p in files.items()
            if re.search(r"sqlalchemy|alembic|DATABASE_URL", p.read_text(errors="ignore"))
        ]
        assert not named, f"the database is off, yet named in {named}"
    # Its own lock: the template's own tools (docs site, generator) are not in it, nor the
    # packages of an option turned off.
    lock = files["requirements/dev.txt"].read_text()
    assert "aiogram==" in lock and "--hash=sha256:" in lock
    assert "mkdocs" not in lock and "copier==" not in lock
    assert ("playwright==" in lock) == ("sandbox" not in off)
    if "sandbox" in off:
        assert "--sandbox" not in readme and "--sandbox" not in files["bot/cli.py"].read_text()
    if "example_handlers" in off:
        # The catalogs (handlers/locales/) belong to the kept handlers too.
        kept = {
            n
            for n in files
            if n.startswith("handlers/") and "/locales/" not in n and "/migrations/" not in n
        }
        runtime = ["__init__", "settings", "start", "errors", "admin", "language"]
        if "database" not in off:  # /broadcast sends to the users in the database
            runtime += ["broadcast", "models", "users"]
        assert kept == {f"handlers/{m}.py" for m in runtime}
        mentions = [n for n in kept if EXAMPLES.search(files[n].read_text())]
        assert not mentions, f"the examples are off, yet named in {mentions}"

    venv = ProjectEnv(project, mypy_cache).create()

    # Without a token: exit 2 and the fix.
    first_run = venv.run("run.py", timeout=60)
    assert first_run.returncode == ExitCode.CONFIG, first_run.stdout + first_run.stderr
    assert "BOT_TOKEN is missing: get one from @BotFather" in first_run.stderr
    assert ("`python run.py --sandbox`" in first_run.stderr) == ("sandbox" not in off)

    if "sandbox" not in off:
        await assert_the_sandbox_answers_start(venv)

    for check in (
        ("-m", "pytest", "-q", "-p", "no:cacheprovider", *FAST_TESTS),
        ("-m", "ruff", "check", "."),
        ("-m", "ruff", "format", "--check", "."),
        ("-m", "mypy"),
        ("-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"),
    ):
        done = venv.run(*check)
        assert done.returncode == 0, (
            f"{' '.join(check)} in the project:\n{done.stdout}{done.stderr}"
        )


async def assert_the_sandbox_answers_start(venv: ProjectEnv) -> None:
    """`python run.py --sandbox` in the project: the chat page's user gets the bot's /start."""
    program = await Program(
        [str(venv.python), "run.py", "--sandbox"], venv.env, cwd=venv.project
    ).start()
    try:
        page = await page_address(program)
        await program.wait_for_lines("is polling", timeout=90)
        async with aiohttp.ClientSession() as http:
            reply = await asyncio.wait_for(PageClient(http, page).say("/start"), timeout=30)
        assert reply.startswith("Hello, ")
    finally:
        await program.stop()


async def test_the_newest_python_answer_reaches_pyproject_ruff_mypy_and_the_image(
    template: Path, tmp_path: Path
) -> None:
    # Not installed (this machine's Python is the oldest one offered): what a newer answer
    # changes, and that the project's linter is clean at that target.
    project = render(template, tmp_path / SLUG, {**ANSWERS, "python_version": "3.13"})
    pyproject = (project / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.13"' in pyproject
    assert 'python_version = "3.13"' in pyproject  # mypy's
    assert "FROM python:3.13-slim\n" in (project / "deploy/Dockerfile").read_text()
    # ruff takes its target from requires-python.
    ruff_settings = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--show-settings", "run.py"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "linter.unresolved_target_version = 3.13\n" in ruff_settings
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
