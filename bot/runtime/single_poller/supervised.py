"""What a poller does differently when `python run.py --reload` runs it, and the reload lock.

The supervisor (`bot/reload/`) holds the *reload lock* of the bot for its whole life: an
`InstanceLock` in `LOCK_DIR/telegram-bot-reload/`, the same kind of OS lock as the polling lock.
Every poller checks it right after taking the polling lock: a plain `python run.py` started
while a supervisor runs is refused (exit 3) even in the moment between two of its bots, when the
polling lock itself is free. The supervisor's own child is told the supervisor's pid in
`BOT_RELOAD_SUPERVISOR` and passes; it reports that it polls by writing its pid to the file
named in `BOT_RELOAD_READY_FILE`, which the supervisor reads to time the restart, and stops by
itself if the supervisor dies."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from bot.runtime.single_poller.holder import LockHolder
from bot.runtime.single_poller.lock import InstanceLock, read_lock_holder
from bot.settings import Settings

SUPERVISOR_VARIABLE = "BOT_RELOAD_SUPERVISOR"
READY_FILE_VARIABLE = "BOT_RELOAD_READY_FILE"
# Settings the supervisor gives its child as flags (JSON): the sandbox's emulator URL, token
# and LOCK_DIR must win over the env file, and an empty variable cannot unset a setting.
OVERRIDES_VARIABLE = "BOT_RELOAD_OVERRIDES"
# A folder of its own: LOCK_DIR is the shared temp folder by default.
RELOAD_LOCK_FOLDER = "telegram-bot-reload"
# Seconds between two looks whether the supervisor of this bot still runs.
SUPERVISOR_CHECK_INTERVAL = 1.0

logger = logging.getLogger(__name__)


def reload_lock(lock_dir: Path, bot_id: int) -> InstanceLock:
    """The lock a `--reload` supervisor holds for its life, beside the bot's polling lock."""
    return InstanceLock(Path(lock_dir) / RELOAD_LOCK_FOLDER, bot_id)


def reload_lock_holder(lock_dir: Path, bot_id: int) -> LockHolder | None:
    """The `--reload` supervisor of this bot running right now, or None."""
    return read_lock_holder(Path(lock_dir) / RELOAD_LOCK_FOLDER, bot_id)


def other_supervisor(settings: Settings) -> LockHolder | None:
    """The `--reload` supervisor of this bot, unless there is none or it is our own parent."""
    try:
        holder = reload_lock_holder(settings.lock_dir, settings.bot_id)
    except OSError:
        # Unreadable (another user's folder in a shared LOCK_DIR): the polling lock, just
        # taken, still keeps pollers apart; only the gap between two restarts is unguarded.
        return None
    if holder is None or str(holder.pid) == os.environ.get(SUPERVISOR_VARIABLE):
        return None
    return holder


def supervisor_running_message(holder: LockHolder, bot_label: str) -> str:
    """Exit 3: a `--reload` supervisor runs this bot, so this process must not poll it."""
    kill = f"`kill {holder.pid}`" if holder.pid else "stop that process"
    return (
        f"`python run.py --reload` is running bot {bot_label} ({holder.describe()}; command: "
        f"{holder.command}) and restarts it on every change. Only one poller per bot may run: "
        f"use that one, or stop it with Ctrl+C in its terminal (or {kill}) first."
    )


def supervised_overrides() -> dict[str, Any]:
    """The settings flags the supervisor passed to this process (none when not supervised)."""
    raw = os.environ.get(OVERRIDES_VARIABLE)
    if not raw:
        return {}
    overrides: dict[str, Any] = json.loads(raw)
    return overrides


async def report_polling() -> None:
    """Startup hook of a supervised poller: tell the supervisor this process now polls."""
    path = os.environ.get(READY_FILE_VARIABLE)
    if path:
        await asyncio.to_thread(Path(path).write_text, str(os.getpid()), encoding="utf-8")


def is_supervised() -> bool:
    """True when `python run.py --reload` started this process."""
    return bool(os.environ.get(SUPERVISOR_VARIABLE))


@contextmanager
def stop_with_supervisor(on_stop: Callable[[], None]) -> Iterator[None]:
    """Call `on_stop` in the running loop if the supervisor that started this bot dies.

    A supervisor killed outright (kill -9, an IDE's stop button, a closed terminal) cannot
    stop its bot, which runs in a process group of its own: without this it would go on
    polling, unseen, until someone finds its pid in the exit-3 message.
    """
    pid = os.environ.get(SUPERVISOR_VARIABLE)
    if not pid:
        yield
        return
    loop = asyncio.get_running_loop()
    finished = threading.Event()

    def watch() -> None:
        with contextlib.suppress(psutil.NoSuchProcess):
            supervisor = psutil.Process(int(pid))
            while not finished.is_set():
                try:
                    supervisor.wait(SUPERVISOR_CHECK_INTERVAL)
                    break
                except psutil.TimeoutExpired:
                    continue
        if not finished.is_set():
            logger.warning("The reloader (pid %s) has exited: stopping its bot too.", pid)
            loop.call_soon_threadsafe(on_stop)

    thread = threading.Thread(target=watch, name="supervisor-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        finished.set()
