"""`python run.py --sandbox`: a newcomer's first command. No token, no env file, no network:
the emulator and the bot in one process, a chat page on loopback, Ctrl+C stops both."""

from __future__ import annotations

import asyncio
import signal
import sys
import webbrowser
from pathlib import Path

import aiohttp
import psutil
import pytest

from bot.cli import build_parser, main
from bot.exit_codes import ExitCode
from bot.sandbox_mode import announce, sandbox_settings
from tests.helpers.project_copy import fresh_copy, run_py
from tests.helpers.sandbox_run import PageClient, page_address

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def test_run_py_without_a_token_exits_2_and_names_the_sandbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([], root=tmp_path) == ExitCode.CONFIG
    error = capsys.readouterr().err
    assert "BOT_TOKEN is missing" in error and "`python run.py --sandbox`" in error


def test_open_without_sandbox_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--open"], root=tmp_path) == ExitCode.CONFIG
    assert "--sandbox" in capsys.readouterr().err


async def test_a_production_install_without_sandbox_says_where_it_is(tmp_path: Path) -> None:
    # What `pip install .` installs: bot/ and handlers/ (and run.py), not sandbox/.
    project = fresh_copy(tmp_path / "installed", only=("bot", "handlers", "run.py"))
    program = await run_py(project, "--sandbox").start()
    assert await program.wait(timeout=60) == ExitCode.CONFIG
    assert "The sandbox is not installed here" in program.output
    assert 'pip install -e ".[dev]"' in program.output and "Traceback" not in program.output


async def test_sandbox_from_a_fresh_copy_answers_in_the_page_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    project = fresh_copy(tmp_path / "clone")
    assert not list(project.glob(".env*"))
    polling = await run_py(project, "--sandbox").start()
    webhook = await run_py(project, "--sandbox", "--mode", "webhook").start()
    try:
        first, second = await page_address(polling), await page_address(webhook)
        assert first != second  # the second run took another free port
        await polling.wait_for_lines("is polling", timeout=90)
        await webhook.wait_for_lines("Webhook app listening", timeout=90)

        async with aiohttp.ClientSession() as http:
            async with http.get(f"{first}/") as response:
                assert response.status == 200 and "Sandbox chat" in await response.text()
            assert (await PageClient(http, first).say("/start")).startswith("Hello, Ada!")
            # The sandbox enforces Telegram's flood limits, and shows each chat's send rate.
            async with http.get(f"{first}/sandbox/bots/123456:sandbox/flood") as response:
                flood = (await response.json())["result"]
            assert flood["limits"]["global_per_second"] == 30
            assert [c["last_minute"] for c in flood["chats"]] == [1]
            through_webhook = PageClient(http, second)
            assert (await through_webhook.say("/start")).startswith("Hello, Ada!")
            delivered = await through_webhook.wait_view(
                lambda view: any(d["status"] == 200 for d in view["webhook"]["deliveries"])
            )
        assert delivered["webhook"]["url"].startswith("http://127.0.0.1:")
        assert delivered["webhook"]["has_secret"]

        for program in (polling, webhook):
            program.send_signal(signal.SIGINT)  # Ctrl+C
        codes = await asyncio.gather(polling.wait(timeout=60), webhook.wait(timeout=60))
    finally:
        await polling.stop()
        await webhook.stop()

    assert codes == [ExitCode.OK, ExitCode.OK], polling.output + webhook.output
    assert "123456:sandbox" not in polling.output + webhook.output  # the token is masked
    assert [p for p in psutil.process_iter() if _runs_in(p, project)] == []  # nothing left


def _runs_in(process: psutil.Process, project: Path) -> bool:
    try:
        return process.cwd() == str(project) and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:  # gone meanwhile, or not ours to look at
        return False


def test_open_opens_the_chat_page_in_the_default_browser(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    args = build_parser(tmp_path).parse_args(["--sandbox", "--open"])
    settings = sandbox_settings(args, "http://127.0.0.1:8081", str(tmp_path))

    announce(settings, "http://127.0.0.1:8081", open_browser=args.open)

    assert opened == ["http://127.0.0.1:8081/"]
    assert "chat with the bot at http://127.0.0.1:8081/" in capsys.readouterr().out
