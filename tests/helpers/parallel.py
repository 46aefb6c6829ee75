"""How many pytest-xdist workers `python -m pytest` uses, and the leftover-program report of
every worker gathered in the one summary.

pyproject.toml's addopts pass `-n auto`; tests/conftest.py answers xdist's question "how many
is auto" with `auto_worker_count`. The fast tier (tests/unit) and single files run in this one
process: a worker costs seconds of start-up (each imports aiogram), more than they take.
A run of directories (the whole suite, `tests/polling`) gets `WORKERS` workers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# The tests mostly wait (on a bot process starting, a socket, a subprocess), not compute:
# more workers than cores keep the cores busy. Measured on 2 cores (shared with other work):
# the whole suite took 5 min 41 s on 4 workers, 6 min 14 s on 3, 8-11 min in one process; the
# fast tier 11 s in one process and 24 s on 2 workers.
WORKERS = 4
FAST_TIER = Path(__file__).resolve().parents[1] / "unit"


def auto_worker_count(config: pytest.Config) -> int | None:
    """`-n auto`: 0 (no workers) for the fast tier or single files, `WORKERS` for a run of
    directories; None leaves it to xdist where PYTEST_XDIST_AUTO_NUM_WORKERS says."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    if config.args_source is pytest.Config.ArgsSource.TESTPATHS:
        return WORKERS
    here = config.invocation_params.dir
    for arg in config.args:
        path = (here / arg.split("::")[0]).resolve()
        if path.is_dir() and not path.is_relative_to(FAST_TIER):
            return WORKERS
    return 0


class LeftoverReport:
    """On the controller of a parallel run: the programs each worker had to kill at its end
    (`kill_leftovers`, sent in xdist's `workeroutput`), named in the summary."""

    KEY = "killed_programs"

    def __init__(self) -> None:
        self.killed: list[str] = []

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        self.killed += getattr(node, "workeroutput", {}).get(self.KEY, [])

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.killed:
            write_killed(terminalreporter, self.killed)


def write_killed(reporter: Any, killed: list[str]) -> None:
    """The line that names the programs a test left running."""
    reporter.write("\n")
    reporter.write_line(f"killed {len(killed)} program(s) a test left running: {killed}")


# Tests that measure pace, waits or lease timeouts: on 2 cores, four workers beside them make
# the event loop late enough to break the figures they hold the bot to (spans, 429 counts,
# lease expiry). A parallel run leaves them out of its workers and runs them afterwards, one at
# a time, in a process of their own (`SerialAfterward`); `-n 0` runs them in place. They are
# the SERIAL folders' tests and those marked `@pytest.mark.serial`.
SERIAL = ("tests/flood/",)
SERIAL_MARKER = "serial: measures time; a parallel run runs it afterwards, one at a time"


def is_serial(item: pytest.Item) -> bool:
    """Whether `item` is one of the timing tests."""
    return item.nodeid.startswith(SERIAL) or item.get_closest_marker("serial") is not None


def keep_serial_for_later(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker: deselect the SERIAL tests (the controller runs them afterwards)."""
    if not hasattr(config, "workerinput"):
        return
    later = [item for item in items if is_serial(item)]
    config.workeroutput[SerialAfterward.KEY] = [item.nodeid for item in later]  # type: ignore[attr-defined]
    if later:
        config.hook.pytest_deselected(items=later)
        items[:] = [item for item in items if not is_serial(item)]


class SerialAfterward:
    """On the controller of a parallel run: once the workers are done, the SERIAL tests that
    this run selected, in one process with no workers; their failures fail the run."""

    KEY = "serial_afterward"

    def __init__(self) -> None:
        self.selected: list[str] = []

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        # Each worker deselected the same ones (every worker collects the whole run).
        self.selected = self.selected or getattr(node, "workeroutput", {}).get(self.KEY, [])

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.selected or not session.config.pluginmanager.has_plugin("dsession"):
            return
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", f"{len(self.selected)} timing tests, one at a time")
        command = [sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider"]
        done = subprocess.run([*command, *self.selected], cwd=session.config.rootpath, check=False)
        if done.returncode != 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
