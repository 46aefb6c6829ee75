"""The parts of `python run.py --reload` that need no process: which files restart the bot,
how it is started and stopped on each system, and what a person reads when it refuses."""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import types
from pathlib import Path

import pytest
from watchfiles import Change

from bot.cli import build_parser, main
from bot.exit_codes import ExitCode
from bot.reload import child_command
from bot.reload.child import CREATE_NEW_PROCESS_GROUP, CTRL_BREAK_EVENT, send_stop, spawn_options
from bot.reload.forking import FORK_VARIABLE, fork_available
from bot.reload.supervisor import exited_message
from bot.reload.warm_parent import user_modules
from bot.reload.watching import ProjectFilter, describe
from bot.runtime.single_poller.supervised import SUPERVISOR_VARIABLE, other_supervisor, reload_lock
from bot.settings import load_settings
from tests.helpers.constants import TOKEN, WEBHOOK
from tests.helpers.processes import write_env_file


@pytest.fixture
def project(tmp_path: Path) -> Path:
    # Inside a folder named `tests`: the ignored folders count below the project root only.
    root = tmp_path / "tests" / "project"
    root.mkdir(parents=True)
    return root


@pytest.mark.parametrize(
    "name",
    ["handlers/echo.py", "handlers/texts/en.ftl", "bot/factory.py", "run.py", "services/db.py"],
)
def test_python_files_and_everything_in_handlers_restart_the_bot(project: Path, name: str) -> None:
    assert ProjectFilter(project, project / ".env.local")(Change.modified, str(project / name))


@pytest.mark.parametrize(
    "name",
    [
        "handlers/__pycache__/echo.cpython-311.pyc",
        ".venv/lib/python3.11/site-packages/aiogram/bot.py",
        "venv/lib/site.py",
        ".mypy_cache/3.11/bot.py",
        "tests/test_echo.py",
        "sandbox/emulator.py",
        "docs/hooks/settings_table.py",
        "handlers/.echo.py.swp",
        "handlers/echo.py~",
        "handlers/echo.py.tmp",
        "README.md",
        "env/.env.local.example",
        ".env.production",
    ],
)
def test_caches_tools_temporary_files_and_other_folders_do_not(project: Path, name: str) -> None:
    assert not ProjectFilter(project, project / ".env.local")(Change.added, str(project / name))


def test_the_env_file_restarts_the_bot_inside_or_outside_the_project(
    project: Path, tmp_path: Path
) -> None:
    inside = ProjectFilter(project, project / ".env.local")
    assert inside(Change.modified, str(project / ".env.local"))
    assert inside.paths() == [project.resolve()]

    elsewhere = tmp_path / "secrets" / "bot.env"
    outside = ProjectFilter(project, elsewhere)
    assert outside(Change.modified, str(elsewhere))
    assert not outside(Change.modified, str(elsewhere.with_name("other.env")))
    assert outside.paths() == [project.resolve(), elsewhere.parent.resolve()]


def test_a_restart_names_the_changed_files_still_there(project: Path) -> None:
    (project / "handlers").mkdir()
    (project / "handlers" / "echo.py").write_text("")
    watch = ProjectFilter(project, None)
    gone = str(project / "handlers" / "sedX1b2c3")  # sed -i's temporary file
    assert watch.names([str(project / "handlers" / "echo.py"), gone]) == {"handlers/echo.py"}
    assert watch.names([gone]) == {"handlers/sedX1b2c3"}
    assert describe(["a.py"]) == "a.py"
    assert describe(["b.py", "a.py", "c.py"]) == "a.py and 2 more files"


def test_the_bot_gets_a_process_group_of_its_own_on_every_system() -> None:
    assert spawn_options("linux") == {"process_group": 0}
    assert spawn_options("win32") == {"creationflags": CREATE_NEW_PROCESS_GROUP}


@pytest.mark.parametrize(
    ("platform", "expected"),
    [("linux", (-4123, signal.SIGINT)), ("win32", (4123, CTRL_BREAK_EVENT))],
)
def test_the_bot_is_stopped_as_ctrl_c_stops_it(platform: str, expected: tuple[int, int]) -> None:
    sent: list[tuple[int, int]] = []
    send_stop(4123, platform, kill=lambda pid, sig: sent.append((pid, sig)))
    assert sent == [expected]  # POSIX: SIGINT to the group; Windows: Ctrl+Break to the group


def test_the_bot_runs_with_the_same_flags_minus_the_reloaders_own() -> None:
    args = build_parser().parse_args(
        ["--reload", "--env", "local", "--env-file", "my.env", "--takeover", "--mode", "polling"]
    )
    argv = child_command(args)
    assert argv[0] == sys.executable and Path(argv[1]).name == "run.py"
    assert argv[2:] == ["--env", "local", "--env-file", "my.env", "--mode", "polling", "--takeover"]


# The sandbox's cases (its flags, its hint) are in tests/unit/test_sandbox_reload.py.
@pytest.mark.parametrize("argv", [["--reload"], ["run", "--reload", "--mode", "webhook"]])
def test_webhook_mode_is_refused_naming_gunicorn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    write_env_file(tmp_path / ".env.local", {"BOT_TOKEN": TOKEN, **WEBHOOK})
    assert main(argv, root=tmp_path) == ExitCode.CONFIG
    assert "gunicorn --reload" in capsys.readouterr().err


def test_a_bot_exiting_on_its_own_says_why_and_what_starts_it_again() -> None:
    broken = exited_message(1, {"handlers/echo.py"})
    assert "code 1 after handlers/echo.py changed" in broken and "traceback" in broken
    assert "next change" in broken
    assert "invalid configuration" in exited_message(2, set())
    assert "killed by signal 9" in exited_message(-9, set())


def test_only_another_reloader_counts_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    overrides = {"BOT_TOKEN": TOKEN, "LOCK_DIR": str(tmp_path)}
    settings = load_settings(overrides=overrides, root=tmp_path, environment=False)
    assert other_supervisor(settings) is None  # none runs
    with reload_lock(settings.lock_dir, settings.bot_id):
        holder = other_supervisor(settings)
        assert holder is not None and holder.pid == os.getpid()
        monkeypatch.setenv(SUPERVISOR_VARIABLE, str(os.getpid()))
        assert other_supervisor(settings) is None  # it is this bot's own reloader


def test_without_watchfiles_it_says_how_to_install_the_dev_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "watchfiles", None)  # what `pip install .` leaves out
    write_env_file(tmp_path / ".env.local", {"BOT_TOKEN": TOKEN, "LOCK_DIR": str(tmp_path)})
    assert main(["--reload"], root=tmp_path) == ExitCode.CONFIG
    assert 'pip install -e ".[dev]"' in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "runtime"),
    [
        ("bot/factory.py", True),
        ("bot/polling/runner.py", True),
        ("run.py", True),
        ("handlers/echo.py", False),
        ("services/db.py", False),
        (".env.local", False),
    ],
)
def test_only_a_change_to_bot_or_run_py_replaces_the_warm_parent(
    project: Path, name: str, runtime: bool
) -> None:
    watch = ProjectFilter(project, project / ".env.local")
    assert watch.touches_runtime([str(project / name)]) is runtime


@pytest.mark.parametrize(
    ("environment", "forked"),
    [({}, True), ({FORK_VARIABLE: "1"}, True), ({FORK_VARIABLE: "0"}, False)],
)
def test_bots_are_forked_on_posix_unless_switched_off(
    environment: dict[str, str], forked: bool
) -> None:
    assert fork_available(environment) is (forked and hasattr(os, "fork"))


def test_the_warm_parent_lets_go_of_user_modules_but_keeps_the_runtime(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = {
        "probe_runtime": project / "bot" / "factory.py",
        "probe_handlers": project / "handlers" / "echo.py",
        "probe_services": project / "services.py",
    }
    for name, path in loaded.items():
        module = types.ModuleType(name)
        module.__file__ = str(path)
        monkeypatch.setitem(sys.modules, name, module)
    assert sorted(user_modules(project)) == ["probe_handlers", "probe_services"]


def test_every_module_the_warm_parent_imports_exists() -> None:
    # A renamed runtime module would make every --reload bot die in the warm parent.
    from bot.reload.warm_parent import WARM_MODULES

    missing = [name for name in WARM_MODULES if importlib.util.find_spec(name) is None]
    assert not missing
