"""Fixtures shared by every suite: the emulator, a made-up token, settings, the polling runner
in this process, bot processes.
# copier: if sandbox
The handler tests' `tg` and `user` come from tests/sandbox_bot.py.
# copier: endif
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiogram import Dispatcher

from bot.owner import BotRuntime
from bot.settings import Settings, env_names, load_settings
from sandbox import Emulator
from tests.helpers.constants import CONVERSATION_HANDLERS
from tests.helpers.logs import LogWatcher, watching
from tests.helpers.polling import RunningBot, poll_in_background
from tests.helpers.processes import BotProcess, kill_leftovers, write_env_file

# copier: if sandbox
# The sandbox's `tg` and `user` fixtures, running this project's bot (tests/sandbox_bot.py).
pytest_plugins = ["tests.sandbox_bot"]

# copier: endif
_bot_ids = itertools.count(700000 + os.getpid() % 1000 * 100)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """No program a test started outlives the run, even one whose test timed out before its
    own cleanup; the report names any that had to be killed."""
    killed = kill_leftovers()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if killed and reporter is not None:
        reporter.write("\n")
        reporter.write_line(f"killed {len(killed)} program(s) a test left running: {killed}")


@pytest.fixture(autouse=True)
def _no_bot_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's exported BOT_TOKEN or APP_ENV must not leak into in-process tests."""
    for key in env_names():
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def token() -> str:
    """A made-up token, different for every test (the emulator gives each its own bot)."""
    return f"{next(_bot_ids)}:TEST-token_{os.getpid()}"


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """The Bot API emulator on a free loopback port, with fast webhook retries and no 1 s
    pause between setWebhook calls (the sandbox's own tests cover that limit)."""
    async with Emulator(
        retry_first_delay=0.05, retry_max_delay=0.5, webhook_timeout=10.0, webhook_change_interval=0
    ) as tg:
        yield tg


@pytest.fixture
def polling_env(tmp_path: Path, emulator: Emulator, token: str) -> dict[str, str]:
    """Configuration for a development poller talking to the emulator, running the tests' own
    handlers (tests/fixtures/conversation_handlers.py)."""
    return {
        "BOT_TOKEN": token,
        "HANDLERS_MODULE": CONVERSATION_HANDLERS,
        "APP_ENV": "local",
        "TELEGRAM_API_URL": emulator.base_url,
        "LOCK_DIR": str(tmp_path / "locks"),
        "SHUTDOWN_TIMEOUT": "10",
        "POLLING_CONFLICT_GRACE": "3",
    }


@pytest.fixture
def make_settings(polling_env: dict[str, str], tmp_path: Path) -> Callable[..., Settings]:
    """Settings from `polling_env` plus overrides, as flags: no env file, no environment."""

    def make(**overrides: str) -> Settings:
        root = tmp_path / "root"
        root.mkdir(exist_ok=True)
        return load_settings(overrides={**polling_env, **overrides}, root=root, environment=False)

    return make


@pytest.fixture
async def logs() -> AsyncIterator[LogWatcher]:
    """The bot's own log records (logger `bot` and below), to read and to wait on."""
    with watching("bot") as watcher:
        yield watcher


@pytest.fixture
async def start_bot(
    tmp_path: Path,
) -> AsyncIterator[Callable[..., Awaitable[BotProcess]]]:
    """Start `python run.py` with an env file built from a dict; every process is stopped."""
    started: list[BotProcess] = []

    async def start(values: dict[str, str], *args: str) -> BotProcess:
        env_file = write_env_file(tmp_path / f".env.test{len(started)}", values)
        process = BotProcess("--env-file", str(env_file), *args)
        started.append(process)
        return await process.start()

    yield start
    for process in started:
        await process.stop()


# copier: if redis
@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[Any]:
    """A redis-server of the test's own (`tests.helpers.redis.RedisServer`; skipped, naming
    the package, where it is missing)."""
    # Imported here, so that the imports above are the same with or without Redis.
    from tests.helpers.redis import RedisServer

    server = await RedisServer(tmp_path / "redis").start()
    yield server
    await server.stop()


# copier: endif
@pytest.fixture
async def start_runner(
    emulator: Emulator, token: str, make_settings: Callable[..., Settings]
) -> AsyncIterator[Callable[..., Awaitable[RunningBot]]]:
    """Start the polling runner in-process; by default wait until its long poll is parked."""
    running: list[RunningBot] = []

    async def start(
        settings: Settings | None = None,
        dispatcher: Dispatcher | None = None,
        wait_parked: bool = True,
        **kwargs: Any,
    ) -> RunningBot:
        settings = settings or make_settings()
        bot = poll_in_background(BotRuntime(settings, dispatcher=dispatcher), **kwargs)
        running.append(bot)
        if wait_parked:
            await emulator.wait_until(
                lambda: emulator.bot(token).long_poll_parked or bot.task.done(),
                what="the runner's long poll",
            )
        return bot

    yield start
    for bot in running:
        if not bot.task.done():
            await bot.stop()
