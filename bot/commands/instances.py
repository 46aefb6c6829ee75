"""The doctor's checks of running copies of the bot on this machine: the polling lock and
the processes whose command lines run this project's bot."""

from __future__ import annotations

from bot.commands.context import DoctorContext
from bot.commands.processes import find_bot_processes, pid_alive
from bot.commands.report import Check
from bot.polling.lock import LockHolder, read_lock_holder


def check_lock(ctx: DoctorContext) -> tuple[Check, LockHolder | None]:
    """The polling lock of this bot: free, or who holds it and whether that process lives."""
    title = "polling lock"
    if ctx.bot_id is None:
        return Check("lock", title, "skipped", "no usable BOT_TOKEN, so no lock to look at"), None
    try:
        holder = read_lock_holder(ctx.config.lock_dir, ctx.bot_id)
    except OSError as exc:
        return (
            Check(
                "lock",
                title,
                "warning",
                f"cannot read the lock in {ctx.config.lock_dir}: {exc.strerror or exc}",
                fix=f"check the permissions of LOCK_DIR ({ctx.config.lock_dir})",
            ),
            None,
        )
    if holder is None:
        return Check("lock", title, "ok", "free: no poller of this bot runs here"), None
    details = {
        "pid": holder.pid,
        "host": holder.host,
        "started_at": holder.started_at.isoformat(),
        "command": holder.command,
    }
    held = f"held by {holder.describe()} ({holder.command})"
    stop = (
        f"if you did not expect it, stop it: Ctrl+C in its terminal, `kill {holder.pid}`, "
        "or stop the service or container that runs it"
    )
    if not holder.on_this_host:
        details["alive"] = None
        return (
            Check(
                "lock",
                title,
                "warning",
                f"{held}: another machine shares LOCK_DIR, so whether pid {holder.pid} "
                "is alive cannot be checked from here",
                fix=f"look on host {holder.host}; {stop}",
                details=details,
            ),
            holder,
        )
    alive = pid_alive(holder.pid)
    details["alive"] = alive
    if not alive:
        return (
            Check(
                "lock",
                title,
                "problem",
                f"{held}, but no process {holder.pid} runs here: a container or another "
                "PID namespace sharing LOCK_DIR holds it",
                fix=f"find the container that mounts {ctx.config.lock_dir} and stop its poller",
                details=details,
            ),
            holder,
        )
    state = "alive"
    if ctx.config.bot_mode == "webhook":
        return (
            Check(
                "lock",
                title,
                "problem",
                f"{held}, {state}: a poller runs although this environment uses the webhook",
                fix=stop,
                details=details,
            ),
            holder,
        )
    return (
        Check(
            "lock",
            title,
            "warning",
            f"{held}, {state}: a poller of this bot is running",
            fix=stop,
            details=details,
        ),
        holder,
    )


def check_processes(ctx: DoctorContext, holder: LockHolder | None) -> Check:
    """Other processes on this machine running this project's bot, by command line."""
    title = "bot processes"
    found = find_bot_processes(ctx.root)
    if found is None:
        return Check(
            "processes", title, "skipped", "this system does not let us list its processes"
        )
    expected = {holder.pid} if holder is not None else set()
    gunicorn = {p.pid for p in found if "gunicorn" in " ".join(p.args[:2])}
    if ctx.config.bot_mode == "webhook":
        expected |= gunicorn  # the webhook app: a master and its workers
    others = [p for p in found if p.pid not in expected]
    listing = [{"pid": p.pid, "command": p.command} for p in found]
    if not others:
        summary = (
            "none besides this command"
            if not found
            else "only the expected ones: " + ", ".join(f"pid {p.pid}" for p in found)
        )
        return Check("processes", title, "ok", summary, details={"processes": listing})
    names = "; ".join(f"pid {p.pid}: {p.command}" for p in others)
    return Check(
        "processes",
        title,
        "warning",
        f"{len(others)} other process{'es' if len(others) > 1 else ''} run this project's bot "
        f"here: {names}",
        fix="two copies on one token take each other's updates: stop the ones you did not mean "
        "to run (another terminal, the IDE's run window, a service, a container)",
        details={"processes": listing},
    )
