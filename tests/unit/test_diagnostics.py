"""The doctor's building blocks that need no emulator: naming network errors, and telling
this project's bot apart from other processes by command line."""

from __future__ import annotations

import errno
import socket
import ssl
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.commands.network import classify_error
from bot.runtime.single_poller.processes import ProcessInfo, find_bot_processes, is_bot_process


def windows_error(winerror: int, text: str) -> OSError:
    error = OSError(None, text)
    error.winerror = winerror  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(
    ("error", "named"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "name resolution failed"),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "connection refused"),
        (TimeoutError(), "timed out"),
        (windows_error(121, "The semaphore timeout period has expired"), "timed out"),
        (windows_error(10061, "No connection could be made"), "connection refused"),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "network unreachable"),
        (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "TLS failure"),
    ],
)
def test_network_errors_are_named_by_their_class(error: BaseException, named: str) -> None:
    assert classify_error(error).startswith(named)


ROOT = Path("/srv/bot")


@pytest.mark.parametrize(
    ("args", "cwd", "is_bot"),
    [
        (["python", "run.py"], ROOT, True),
        (
            ["/srv/bot/.venv/bin/python3", "-u", "/srv/bot/run.py", "--env", "production"],
            None,
            True,
        ),
        (["python", "-m", "bot"], ROOT, True),
        (["python", "-X", "dev", "-m", "bot", "run"], ROOT, True),
        (
            [
                "/srv/bot/.venv/bin/python",
                "/srv/bot/.venv/bin/gunicorn",
                "-c",
                "deploy/gunicorn.conf.py",
                "bot.webhook.app:gunicorn_app",
            ],
            ROOT,
            True,
        ),
        (["python", "run.py"], Path("/home/me/other-bot"), False),
        (["python", "/home/me/other-bot/run.py"], ROOT, False),
        (["python", "-m", "bot", "doctor"], ROOT, False),
        (["python", "run.py", "--env", "production", "migrate"], ROOT, False),
        (["python", "-m", "pytest", "tests"], ROOT, False),
        (["python", "manage.py", "run.py"], ROOT, False),
        (["bash", "run.py"], ROOT, False),
    ],
)
def test_bot_processes_are_recognised_by_command_line(
    args: list[str], cwd: Path | None, is_bot: bool
) -> None:
    assert is_bot_process(ProcessInfo(1, tuple(args), cwd), ROOT) is is_bot


def test_shown_command_lines_mask_anything_token_like() -> None:
    process = ProcessInfo(1, ("python", "run.py", "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"))
    assert process.command == "python run.py 123456:***"


class FakeProcess:
    """What psutil.process_iter yields: an object with the requested attributes in `info`."""

    def __init__(self, pid: int, ppid: int, args: list[str], cwd: Path | None = ROOT) -> None:
        self.info = {"pid": pid, "ppid": ppid, "cmdline": args, "cwd": str(cwd) if cwd else None}


def tree(*processes: FakeProcess) -> Callable[[list[str]], list[FakeProcess]]:
    """A psutil-shaped process list for find_bot_processes."""
    return lambda attributes: list(processes)


VENV_PYTHON = r"C:\Users\me\bot\.venv\Scripts\python.exe"
BASE_PYTHON = r"C:\Users\me\AppData\Local\Programs\Python\Python311\python.exe"
DEBUGPY = "/home/me/.vscode/extensions/ms-python.debugpy-2025.1/bundled/libs/debugpy"


def test_py_exe_the_venv_launcher_and_python_exe_are_one_bot_named_by_the_innermost_pid() -> None:
    # `py run.py` on Windows: py.exe -> the venv's python.exe -> the real python.exe.
    processes = tree(
        FakeProcess(1, 0, ["explorer.exe"], None),
        FakeProcess(10, 1, ["py", "run.py"]),
        FakeProcess(11, 10, [VENV_PYTHON, "run.py"]),
        FakeProcess(12, 11, [BASE_PYTHON, "run.py"]),
    )
    found = find_bot_processes(ROOT, source=processes)
    assert found is not None
    assert [(p.pid, p.launchers) for p in found] == [(12, (10, 11))]


def test_two_bots_started_through_launchers_are_two() -> None:
    processes = tree(
        FakeProcess(10, 1, ["py", "run.py"]),
        FakeProcess(12, 10, [BASE_PYTHON, "run.py"]),
        FakeProcess(20, 1, ["py", "-3.11", "run.py", "--env", "production"]),
        FakeProcess(22, 20, [BASE_PYTHON, "run.py", "--env", "production"]),
        FakeProcess(30, 12, [BASE_PYTHON, "run.py"]),  # a child with the same arguments
    )
    found = find_bot_processes(ROOT, source=processes)
    assert found is not None
    assert sorted((p.pid, p.launchers) for p in found) == [(22, (20,)), (30, (10, 12))]


@pytest.mark.parametrize(
    "launch",
    [
        # VS Code: the debug launcher, and the debuggee it starts.
        [[sys.executable, f"{DEBUGPY}/launcher", "45678", "--", "run.py"]],
        [
            [sys.executable, f"{DEBUGPY}/launcher", "45678", "--", "run.py"],
            [
                sys.executable,
                DEBUGPY,
                "--connect",
                "127.0.0.1:45679",
                "--configure-qt",
                "none",
                "--adapter-access-token",
                "f00d",
                "run.py",
            ],
        ],
        [[sys.executable, "-m", "debugpy", "--listen", "5678", "-m", "bot"]],
        # PyCharm's debugger.
        [
            [
                sys.executable,
                "/opt/pycharm/plugins/python/helpers/pydev/pydevd.py",
                "--multiprocess",
                "--qt-support=auto",
                "--client",
                "127.0.0.1",
                "--port",
                "50123",
                "--file",
                str(ROOT / "run.py"),
            ]
        ],
    ],
)
def test_a_bot_under_a_debugger_is_recognised_as_one_bot(launch: list[list[str]]) -> None:
    chain = [FakeProcess(100 + n, 99 + n, args) for n, args in enumerate(launch)]
    found = find_bot_processes(ROOT, source=tree(*chain))
    assert found is not None
    assert [p.pid for p in found] == [chain[-1].info["pid"]]


def test_a_debugger_running_a_management_command_is_not_a_bot() -> None:
    args = (sys.executable, f"{DEBUGPY}/launcher", "45678", "--", "run.py", "doctor")
    assert is_bot_process(ProcessInfo(1, args, ROOT), ROOT) is False
