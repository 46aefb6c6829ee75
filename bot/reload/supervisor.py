"""The supervisor loop of `python run.py --reload`: run the bot, watch the project, and on a
change stop the bot as Ctrl+C does, wait until it has exited and its polling lock is free,
then start it again (see the package docstring for why it never runs two pollers)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.exit_codes import ExitCode
from bot.reload.child import BotChild
from bot.reload.forking import ForkedChild, WarmParent
from bot.reload.watching import ProjectFilter, describe
from bot.runtime.single_poller.lock import InstanceLock, LockHeld, read_lock_holder
from bot.runtime.single_poller.supervised import (
    OVERRIDES_VARIABLE,
    READY_FILE_VARIABLE,
    SUPERVISOR_VARIABLE,
    reload_lock,
    supervisor_running_message,
)
from bot.runtime.stop_signals import stop_signals
from bot.settings import Settings

# Seconds a stopping bot gets beyond SHUTDOWN_TIMEOUT before its process group is killed:
# after its handlers it confirms the offset to Telegram (up to 3 attempts of 5 s, see
# bot/polling/shutdown.py) and closes its connections.
STOP_MARGIN = 20.0
# How often the supervisor looks whether the polling lock is free yet.
LOCK_CHECK_INTERVAL = 0.2
# watchfiles: a batch of changes is yielded once no new change came for STEP ms (an editor's
# save is several writes within a few ms), and at most DEBOUNCE ms after the first.
WATCH_STEP_MS = 100
WATCH_DEBOUNCE_MS = 1600
# Why a bot exits on its own, as a person reads it (the codes of bot/exit_codes.py).
EXIT_REASONS: dict[int, str] = {
    ExitCode.OK: "it stopped",
    ExitCode.ERROR: "an error, see the traceback above",
    ExitCode.CONFIG: "invalid configuration, see the report above",
    ExitCode.LOCKED: "another instance holds the polling lock, see above",
    ExitCode.WEBHOOK_ACTIVE: "a webhook is set for this bot, see above",
    ExitCode.CONFLICT: "another poller elsewhere kept taking the updates, see above",
}
PREFIX = "Reload:"


@dataclass
class ChildPlan:
    """How to start the bot: its command line, the settings flags it gets (the sandbox's),
    a folder of the supervisor's own for the files the bots report through, and whether bots
    are forked from a warm parent (POSIX) or started as fresh interpreters."""

    argv: Sequence[str]
    overrides: Mapping[str, Any]
    state_dir: Path
    forked: bool = False
    runs: int = field(default=0)
    warm: WarmParent | None = field(default=None)

    async def renew_warm_parent(self) -> None:
        """Replace the warm parent (the runtime changed, or it is gone): the next bot is forked
        from a new one that imports `bot/` as it is now."""
        if self.warm is not None:
            await self.warm.close()
        self.warm = WarmParent(self.argv) if self.forked else None

    async def close(self) -> None:
        """End the warm parent, once its last bot has exited."""
        if self.warm is not None:
            await self.warm.close()

    def next_child(self) -> BotChild:
        """A new, not yet started run of the bot."""
        self.runs += 1
        ready_file = self.state_dir / f"polling-{self.runs}"
        environment = {
            **os.environ,
            SUPERVISOR_VARIABLE: str(os.getpid()),
            READY_FILE_VARIABLE: str(ready_file),
        }
        if self.overrides:
            environment[OVERRIDES_VARIABLE] = json.dumps(dict(self.overrides))
        if self.warm is not None:
            return ForkedChild(self.warm, environment, ready_file)
        return BotChild(self.argv, environment, ready_file)


class Supervisor:
    """Runs the bot until Ctrl+C, restarting it on every change of the project's files.

    `reread` reads the settings again before each start (the env file may have changed; None
    when they are invalid, which the bot itself then reports); `lock` is the reload lock this
    supervisor holds, and follows the bot when the token names another one.
    """

    def __init__(
        self,
        plan: ChildPlan,
        watch_filter: ProjectFilter,
        lock: InstanceLock,
        reread: Callable[[], Settings | None],
        settings: Settings,
    ) -> None:
        self.plan = plan
        self.filter = watch_filter
        self.lock = lock
        self.reread = reread
        self.settings = settings
        self.child: BotChild | None = None
        self._stopping = asyncio.Event()
        self._changes: asyncio.Queue[set[str]] = asyncio.Queue()
        self._runtime_changed = True  # no warm parent yet

    def request_stop(self) -> None:
        """Ctrl+C: stop the bot (a second one abandons its running handlers), then exit."""
        if self._stopping.is_set():
            if self.child is not None:
                self.child.abandon()
            return
        self._stopping.set()
        if self.child is not None:
            self.child.request_stop()

    async def run(self) -> int:
        """Supervise until Ctrl+C; returns the supervisor's exit code."""
        with stop_signals(self.request_stop):
            watcher = asyncio.create_task(self._watch())
            try:
                await self._supervise()
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
                if self.child is not None:
                    await self.child.stop(self._stop_timeout())
                await self.plan.close()
        say("stopped.")
        return ExitCode.OK

    async def _watch(self) -> None:
        from watchfiles import awatch

        async for changes in awatch(
            *self.filter.paths(),
            watch_filter=self.filter,
            step=WATCH_STEP_MS,
            debounce=WATCH_DEBOUNCE_MS,
        ):
            paths = {path for _, path in changes}
            # Noted before the batch is queued: the restart it causes reads the flag.
            self._runtime_changed |= self.filter.touches_runtime(paths)
            self._changes.put_nowait(self.filter.names(paths))

    async def _supervise(self) -> None:
        changed: set[str] = set()
        since: float | None = None  # when the change was seen; None at the first start
        while True:
            child = await self._start() if self._follow_settings() else None
            if self._stopping.is_set():
                return
            if child is not None:
                announcing = asyncio.create_task(self._announce(child, changed, since))
                batch = await self._first(self._changes.get(), child.wait())
                announcing.cancel()
                if self._stopping.is_set():
                    return
                if not isinstance(batch, set):  # it exited on its own: wait for a fix
                    child.end_group()
                    say(exited_message(child.returncode, changed))
                    child = None
            if child is None:
                batch = await self._first(self._changes.get())
                if batch is None:
                    return
            since, changed = time.monotonic(), batch
            if child is not None:
                await child.stop(self._stop_timeout())
            changed |= self._drain()  # saved meanwhile: the new bot loads them anyway

    async def _start(self) -> BotChild | None:
        """The bot, started once its polling lock is free; None if stopped meanwhile."""
        if self._runtime_changed or (self.plan.warm is not None and self.plan.warm.gone):
            # The old bot has exited (its warm parent reaped it): the old runtime may go.
            self._runtime_changed = False
            await self.plan.renew_warm_parent()
        if not await self._lock_free():
            return None
        self.child = self.plan.next_child()
        await self.child.start()
        return self.child

    def _follow_settings(self) -> bool:
        """Take the settings as they are now; False if this bot must not start (another
        reloader runs the bot the new token names)."""
        fresh = self.reread()
        if fresh is None:
            return True  # invalid: the bot reports it, exit 2, and the next change retries
        same_lock = (fresh.lock_dir, fresh.bot_id) == (self.settings.lock_dir, self.settings.bot_id)
        if not same_lock:
            lock = reload_lock(fresh.lock_dir, fresh.bot_id)
            try:
                lock.acquire()
            except LockHeld as exc:
                say(supervisor_running_message(exc.holder, fresh.masked_token))
                return False
            except OSError as exc:
                say(f"cannot take the reload lock {lock.path} ({exc.strerror or exc}).")
                return False
            self.lock.release()
            self.lock = lock
        self.settings = fresh
        return True

    async def _announce(self, child: BotChild, changed: set[str], since: float | None) -> None:
        if await child.wait_polling() and since is not None:
            took = time.monotonic() - since
            say(f"{describe(changed)} changed; the bot was restarted in {took:.1f} s.")

    async def _lock_free(self) -> bool:
        """Until no process holds the bot's polling lock (True), or a stop (False)."""
        told = False
        settings = self.settings
        while holder := await asyncio.to_thread(
            read_lock_holder, settings.lock_dir, settings.bot_id
        ):
            if not told:
                say(f"waiting for {holder.describe()} to release the bot's polling lock.")
                told = True
            if await self._first(asyncio.sleep(LOCK_CHECK_INTERVAL, True)) is None:
                return False
        return not self._stopping.is_set()

    async def _first(self, *awaitables: Awaitable[Any]) -> Any:
        """The result of the first of `awaitables` to finish, or None on a stop request."""
        tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stop], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (*tasks, stop):
                task.cancel()
        if stop in done:
            return None
        return next(task for task in tasks if task in done).result()

    def _drain(self) -> set[str]:
        names: set[str] = set()
        while not self._changes.empty():
            names |= self._changes.get_nowait()
        return names

    def _stop_timeout(self) -> float:
        return self.settings.shutdown_timeout + STOP_MARGIN


def exited_message(code: int | None, changed: set[str]) -> str:
    """The line when the bot exits without being asked to: why, and what starts it again."""
    if code is not None and code < 0:
        reason = f"killed by signal {-code}"
    else:
        reason = EXIT_REASONS.get(code or 0, "see the output above")
    after = f" after {describe(changed)} changed" if changed else ""
    return (
        f"the bot exited with code {code}{after} ({reason}). Fix it and save: the bot "
        "starts again on the next change (Ctrl+C stops the reloader)."
    )


def say(text: str) -> None:
    """One line of the supervisor's own, told apart from the bot's log by its prefix."""
    print(f"{PREFIX} {text}", flush=True)
