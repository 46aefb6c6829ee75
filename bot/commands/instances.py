"""The doctor's checks of running copies of the bot on this machine: the polling lock and
the processes whose command lines run this project's bot."""

from __future__ import annotations

from typing import Any

from bot.commands.context import DoctorContext
from bot.commands.report import Check, Checks
from bot.runtime.single_poller.holder import (
    HolderCheck,
    HolderState,
    LockHolder,
    check_holder,
    holder_advice,
)
from bot.runtime.single_poller.lock import LockUnusable, read_lock_holder
from bot.runtime.single_poller.processes import ProcessInfo, find_bot_processes
from bot.runtime.single_poller.supervised import reload_lock_holder

LOCK = Checks("lock", "polling lock")
PROCESSES = Checks("processes", "bot processes")


def check_lock(ctx: DoctorContext) -> tuple[Check, LockHolder | None]:
    """The polling lock of this bot: free, or who holds it and whether that process lives."""
    lock_dir = ctx.config.lock_dir
    if ctx.bot_id is None:
        return LOCK.skipped("no usable BOT_TOKEN, so no lock to look at"), None
    try:
        holder = read_lock_holder(lock_dir, ctx.bot_id)
    except LockUnusable as exc:
        return LOCK.problem(exc.problem, fix=exc.fix), None
    except OSError as exc:
        reason = f"cannot read the lock in {lock_dir}: {exc.strerror or exc}"
        return LOCK.warning(reason, fix=f"check the permissions of LOCK_DIR ({lock_dir})"), None
    if holder is None:
        return LOCK.ok("free: no poller of this bot runs here"), None
    return _held(ctx, holder, check_holder(holder)), holder


def _held(ctx: DoctorContext, holder: LockHolder, check: HolderCheck) -> Check:
    details: dict[str, Any] = {
        "pid": holder.pid,
        "host": holder.host,
        "started_at": holder.started_at.isoformat(),
        "command": holder.command,
        "alive": check.alive,
        "state": check.state.name.lower(),
    }
    held = f"held by {holder.describe()} ({holder.command})"
    advice = holder_advice(holder, check)
    if check.state is HolderState.ELSEWHERE:
        return LOCK.warning(
            f"{held}: another machine shares LOCK_DIR, so whether pid {holder.pid} is alive "
            "cannot be checked from here",
            fix=f"if you did not expect it, {advice}",
            details=details,
        )
    if check.state is HolderState.GONE:
        return LOCK.problem(
            f"{held}, but no process {holder.pid} runs here: a container or another PID "
            "namespace sharing LOCK_DIR holds it",
            fix=f"find the container that mounts {ctx.config.lock_dir} and stop its poller",
            details=details,
        )
    if check.state is not HolderState.BOT:
        return LOCK.problem(f"{held}: {check.state.value}", fix=advice, details=details)
    if ctx.config.bot_mode == "webhook":
        why = "a poller runs although this environment uses the webhook"
        return LOCK.problem(f"{held}, alive: {why}", fix=advice, details=details)
    return LOCK.warning(
        f"{held}, alive: a poller of this bot is running",
        fix=f"if you did not expect it, {advice}, or stop the service or container that runs it",
        details=details,
    )


def check_processes(ctx: DoctorContext, holder: LockHolder | None) -> Check:
    """Other processes on this machine running this project's bot, by command line."""
    found = find_bot_processes(ctx.root)
    if found is None:
        return PROCESSES.skipped("this system does not let us list its processes")
    expected = {holder.pid} if holder is not None else set()
    if (reloader := _reloader(ctx)) is not None:
        expected.add(reloader.pid)  # `python run.py --reload`: its bot holds the lock
    if ctx.config.bot_mode == "webhook":
        # The webhook app: a gunicorn master and its workers.
        expected |= {p.pid for p in found if "gunicorn" in " ".join(p.args[:2])}
    others = [p for p in found if p.pid not in expected]
    details = {
        "processes": [
            {"pid": p.pid, "command": p.command, "launchers": list(p.launchers)} for p in found
        ]
    }
    if not others:
        pids = ", ".join(_named(p) for p in found)
        summary = f"only the expected ones: {pids}" if found else "none besides this command"
        return PROCESSES.ok(summary, details=details)
    names = "; ".join(f"{_named(p)}: {p.command}" for p in others)
    plural = "es" if len(others) > 1 else ""
    return PROCESSES.warning(
        f"{len(others)} other process{plural} run this project's bot here: {names}",
        fix="two copies on one token take each other's updates: stop the ones you did not mean "
        "to run (another terminal, the IDE's run window, a service, a container)",
        details=details,
    )


def _reloader(ctx: DoctorContext) -> LockHolder | None:
    if ctx.bot_id is None:
        return None
    try:
        return reload_lock_holder(ctx.config.lock_dir, ctx.bot_id)
    except (OSError, LockUnusable):  # the lock check above reports an unusable LOCK_DIR
        return None


def _named(process: ProcessInfo) -> str:
    """`pid 3` or, for a bot started through launchers (`py.exe`, the venv's python.exe, a
    debugger), `pid 3 (started through pid 1, 2)`: one bot."""
    if not process.launchers:
        return f"pid {process.pid}"
    through = ", ".join(map(str, process.launchers))
    return f"pid {process.pid} (started through pid {through})"
