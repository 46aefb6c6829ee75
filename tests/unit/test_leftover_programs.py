"""The tests' own guard: a program a test started and could not stop (its timeout came first)
does not outlive the test run."""

from __future__ import annotations

import sys
from pathlib import Path

import psutil

from tests.helpers.processes import Program, kill_leftovers


async def test_a_program_left_running_is_killed_with_its_children_and_named() -> None:
    parent = (
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    program = await Program([sys.executable, "-c", parent], {}).start()
    await program.wait_for_lines("ready", timeout=30)
    [child] = psutil.Process(program.pid).children()

    assert kill_leftovers([program]) == [f"{Path(sys.executable).name} (pid {program.pid})"]

    assert await program.wait(timeout=10) != 0
    psutil.wait_procs([child], timeout=10)
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    assert kill_leftovers([program]) == []  # gone: nothing more to kill
