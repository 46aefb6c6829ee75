"""Fixtures shared by every suite: the emulator, a made-up token, settings, the polling runner
in this process, bot processes."""

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
from tests.helpers.parallel import (
    SERIAL_MARKER,
    LeftoverReport,
    SerialAfterward,
    auto_worker_count,
    keep_serial_for_later,
)
from tests.helpers.polling import RunningBot, poll_in_background
from tests.helpers.processes import BotProcess, kill_leftovers, write_env_file

# copier: if sandbox
# The sandbox's `tg` and `user` fixtures, running this project's bot (tests/sandbox_bot.py).
pytest_plugins = ["tests.sandbox_bot"]

# copier: endif
_bot_ids = itertools.count(700000 + os.getpid() % 1000 * 100)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", SERIAL_MARKER)
    if not hasattr(config, "workerinput"):  # not an xdist worker: the process that reports
        config.pluginmanager.register(LeftoverReport(), LeftoverReport.KEY)
        config.pluginmanager.register(SerialAfterward(), SerialAfterward.KEY)


@pytest.hookimpl(trylast=True)  # after -k and -m chose the run's tests
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The timing tests wait for the end of a parallel run (tests/helpers/parallel.py)."""
    keep_serial_for_later(config, items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto` (pyproject's addopts): workers for a run of directories, none for the fast
    tier (tests/helpers/parallel.py)."""
    return auto_worker_count(config)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """No program a test started outlives the run, even one whose test timed out before its
    own cleanup; the summary names any that had to be killed."""
    killed = kill_leftovers()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: its controller gathers them
        workeroutput[LeftoverReport.KEY] = killed
        return
    report = session.config.pluginmanager.get_plugin(LeftoverReport.KEY)
    if isinstance(report, LeftoverReport):
        report.killed += killed


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
# copier: if database
@pytest.fixture(scope="session")
def postgres_server() -> Any:  # yields the server
    """A PostgreSQL server of this test process (each xdist worker its own; skipped, naming
    the package, where it is missing): `tests.helpers.postgres.PostgresServer`."""
    from tests.helpers.postgres import PostgresServer

    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: Any) -> str:
    """DATABASE_URL of a new, empty PostgreSQL database of the test's own."""
    url: str = postgres_server.create_database()
    return url


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
