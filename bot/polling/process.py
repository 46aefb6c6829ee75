"""`python run.py` in polling mode: the lock, then the runner, until Ctrl+C (or SIGTERM on POSIX).

The local lock is taken before aiogram is even imported, so a second poller of the same bot
on this machine is refused within a second instead of after the import; with the shared
state, its lease then keeps one poller across hosts.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from bot.exit_codes import ExitCode
from bot.logs import add_log_file
from bot.runtime.observability.metrics import count_lock_refusal
from bot.runtime.single_poller.holder import LockHolder, holder_advice
from bot.runtime.single_poller.lease import LeaseRefusal, SharedLease
from bot.runtime.single_poller.lock import InstanceLock, LockHeld, LockUnusable
from bot.runtime.single_poller.supervised import (
    is_supervised,
    other_supervisor,
    report_polling,
    stop_with_supervisor,
    supervisor_running_message,
)
from bot.runtime.stop_signals import stop_signals
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.owner import BotRuntime

logger = logging.getLogger(__name__)


def run_polling(settings: Settings, *, takeover: bool = False) -> int:
    """Poll Telegram for updates until Ctrl+C (SIGTERM on POSIX); returns the exit code.

    `takeover` deletes an active webhook first (keeping its pending updates) instead of
    refusing to start.
    """
    lock = InstanceLock(settings.lock_dir, settings.bot_id)
    try:
        lock.acquire()
    except LockHeld as exc:
        count_lock_refusal("local")
        # While `--reload` runs, the lock's holder is its bot: name the reloader instead.
        supervisor = other_supervisor(settings)
        if supervisor is not None:
            logger.error(supervisor_running_message(supervisor, settings.masked_token))
        else:
            logger.error(lock_held_message(exc, settings.masked_token))
        return ExitCode.LOCKED
    except LockUnusable as exc:
        logger.error("%s", exc)
        return ExitCode.CONFIG
    # Checked with the polling lock held: a `--reload` supervisor starts its next bot only
    # once that lock is free, so the two checks cannot both pass.
    if (supervisor := other_supervisor(settings)) is not None:
        lock.release()
        logger.error(supervisor_running_message(supervisor, settings.masked_token))
        return ExitCode.LOCKED
    add_log_file(settings)
    name = settings.masked_token
    try:
        code, name = asyncio.run(_poll(settings, takeover, lock.holder))
    except KeyboardInterrupt:
        # Ctrl+C could not be handled as a stop request (see bot.runtime.stop_signals).
        code = ExitCode.OK
    finally:
        lock.release()
    logger.info("Bot %s stopped (exit code %d).", name, code)
    return code


async def _poll(settings: Settings, takeover: bool, holder: LockHolder) -> tuple[int, str]:
    # Imported here, after the local lock: aiogram takes seconds to import.
    from bot.owner import BotRuntime, services_failed_message

    # copier: if database
    if settings.uses_sqlite:  # PostgreSQL is upgraded by the deploy (`python -m bot db upgrade`)
        from bot.database.startup import upgrade_on_start

        if not await upgrade_on_start(settings):
            return ExitCode.ERROR, settings.masked_token
    # copier: endif
    runtime = BotRuntime(settings)
    if is_supervised():
        runtime.dispatcher.startup.register(report_polling)
    try:
        await runtime.open()  # the handlers' services; on failure everything is closed again
    except Exception:
        logger.exception(services_failed_message(settings))
        return ExitCode.ERROR, settings.masked_token
    try:
        return await _poll_with(runtime, takeover, holder)
    finally:
        await runtime.close()


async def _poll_with(runtime: BotRuntime, takeover: bool, holder: LockHolder) -> tuple[int, str]:
    from bot.polling.runner import PollingRunner
    from bot.runtime.observability.metrics_server import MetricsServer

    settings = runtime.settings
    lease: SharedLease | None = None
    if runtime.shared is not None:
        taken = await runtime.shared.take_polling_lease(holder, settings.masked_token)
        if isinstance(taken, LeaseRefusal):
            logger.error("%s", taken.message)
            return taken.code, settings.masked_token
        lease = taken
    metrics = MetricsServer(settings)
    if not await metrics.start():
        if lease is not None:
            await lease.stop()  # gives the lease up at once: no other host waits for its TTL
        return ExitCode.ERROR, settings.masked_token
    runner = PollingRunner(runtime, takeover=takeover, lease=lease)
    try:
        with stop_signals(runner.request_stop), stop_with_supervisor(runner.request_stop):
            code = await runner.run()
    finally:
        await metrics.stop()
    return code, runner.bot_label


def lock_held_message(held: LockHeld, bot_label: str) -> str:
    """Exit 3: who holds the lock and what to do about it."""
    holder = held.holder
    return (
        f"Another instance is already polling bot {bot_label} ({holder.describe()}; "
        f"command: {holder.command}). Only one poller per bot may run: "
        f"{holder_advice(holder, held.check)}. `python -m bot doctor` shows what is running."
    )
