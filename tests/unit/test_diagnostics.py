"""The doctor's building blocks that need no emulator: naming network errors, and telling
this project's bot apart from other processes by command line."""

from __future__ import annotations

import errno
import socket
import ssl
from pathlib import Path

import pytest

from bot.commands.network import classify_error
from bot.runtime.processes import ProcessInfo, is_bot_process


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
