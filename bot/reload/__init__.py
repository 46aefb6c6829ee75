"""`python run.py --reload`: restart the polling bot on every change, never running two pollers.

A supervisor process watches the project (watchfiles, `watching.py`) and runs the bot as a
child process (`python run.py` with the same flags, `child.py`). On POSIX that process is
forked from a warm parent that imported aiogram and `bot/` once (`warm_parent.py`,
`forking.py`), so a restart costs only the import of the user's code; a change to `bot/` or
`run.py` replaces the warm parent, and `BOT_RELOAD_FORK=0` (and Windows, which has no fork)
starts a fresh interpreter per restart instead. On a change it stops the bot
the way Ctrl+C does (running handlers finish within SHUTDOWN_TIMEOUT, the offset is
confirmed), waits for it to exit, ends its process group, waits until the polling lock is
free, and only then starts the new bot, which takes the polling lock before it polls.
watchfiles' own `run_process` is not used: it sends SIGINT, then SIGKILL after a few seconds,
and knows nothing of the lock.

How the two share the lock, and why. The child takes the bot's polling lock itself, exactly
as a plain `python run.py` does, so the kernel's lock, not the supervisor's bookkeeping, keeps
pollers apart: a child left over by a supervisor killed with kill -9 still holds it, and
anything started after it is refused. The supervisor holds a lock of its own for its whole
life, the *reload lock* (`bot/runtime/single_poller/supervised.py`): a second `python run.py
--reload` exits 3 on it, and every poller checks it after taking the polling lock, so a plain
`python run.py` is refused (exit 3) even in the moment between two bots, when the polling
lock is free. Holding the polling lock in the supervisor and handing it to the child instead
would leave that orphaned child polling with no lock at all.

A bot that exits on its own (a syntax or import error, invalid configuration: anything but a
restart the supervisor asked for) is not started again until the next change, so a broken
file never becomes a restart loop.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.exit_codes import ExitCode
from bot.polling.process import lock_held_message
from bot.runtime.single_poller.holder import check_holder
from bot.runtime.single_poller.lock import (
    InstanceLock,
    LockHeld,
    LockUnusable,
    lock_path,
    read_lock_holder,
)
from bot.runtime.single_poller.supervised import reload_lock, supervisor_running_message
from bot.settings import PROJECT_ROOT, Settings, read_settings

WEBHOOK_REFUSED = (
    "--reload restarts a polling bot, and this run would serve a webhook (BOT_MODE=webhook or "
    "--mode webhook). "
)
# copier: if sandbox
WEBHOOK_REFUSED += (
    "To try your handlers with restarts on every change, run "
    "`python run.py --sandbox --reload` (on Windows: `.venv\\Scripts\\python run.py --sandbox "
    "--reload`). "
)
# copier: endif
WEBHOOK_REFUSED += (
    "To serve the webhook with restarts on Linux or macOS, run gunicorn with its "
    "own `--reload`: `gunicorn --reload -c deploy/gunicorn.conf.py bot.webhook.app:gunicorn_app`."
)
NOT_INSTALLED = (
    "--reload needs the watchfiles package, a development dependency: run "
    '`python -m pip install -e ".[dev]"` (on Windows: `.venv\\Scripts\\python -m pip install '
    '-e ".[dev]"`), then `python run.py --reload` again.'
)


def run_reload(
    args: argparse.Namespace, settings: Settings, overrides: Mapping[str, Any] | None = None
) -> int:
    """Supervise the bot until Ctrl+C; `overrides` are settings flags its every run gets (the
    sandbox's). Returns the process exit code."""
    if refused_mode(settings.bot_mode):
        return ExitCode.CONFIG
    if not watchfiles_installed():
        print(NOT_INSTALLED, file=sys.stderr)
        return ExitCode.CONFIG
    lock = reload_lock(settings.lock_dir, settings.bot_id)
    try:
        lock.acquire()
    except LockHeld as exc:
        print(supervisor_running_message(exc.holder, settings.masked_token), file=sys.stderr)
        return ExitCode.LOCKED
    except LockUnusable as exc:
        print(exc, file=sys.stderr)
        return ExitCode.CONFIG
    except OSError as exc:
        print(
            f"Cannot take the reload lock {lock.path} ({exc.strerror or exc}): set LOCK_DIR to "
            "a folder this user can write to.",
            file=sys.stderr,
        )
        return ExitCode.CONFIG
    try:
        if (holder := read_lock_holder(settings.lock_dir, settings.bot_id)) is not None:
            held = LockHeld(
                holder, lock_path(settings.lock_dir, settings.bot_id), check_holder(holder)
            )
            print(lock_held_message(held, settings.masked_token), file=sys.stderr)
            return ExitCode.LOCKED
        return _supervise(args, settings, dict(overrides or {}), lock)
    except KeyboardInterrupt:  # Ctrl+C before the supervisor's own signal handling started
        return ExitCode.OK
    finally:
        lock.release()


def _supervise(
    args: argparse.Namespace, settings: Settings, overrides: dict[str, Any], lock: InstanceLock
) -> int:
    from bot.reload.forking import fork_available
    from bot.reload.supervisor import ChildPlan, Supervisor, say
    from bot.reload.watching import ProjectFilter
    from bot.settings.loading import resolve_env_file

    flags = {**overrides, **({"bot_mode": args.mode} if args.mode else {})}

    def reread() -> Settings | None:
        return read_settings(args.env, args.env_file, flags, root=args.root).settings

    env_file = settings.env_file or resolve_env_file(args.env, args.env_file, args.root)[0]
    watch_filter = ProjectFilter(PROJECT_ROOT, env_file)
    with tempfile.TemporaryDirectory(prefix="telegram-bot-reload-") as state:
        plan = ChildPlan(child_command(args), overrides, Path(state), forked=fork_available())
        supervisor = Supervisor(plan, watch_filter, lock, reread, settings)
        say(
            f"watching {PROJECT_ROOT} (its Python files, handlers/ and {env_file.name}); "
            "a change restarts the bot. Ctrl+C stops the bot and the reloader."
        )
        try:
            return asyncio.run(supervisor.run())
        finally:
            supervisor.lock.release()  # the one it follows now, if the token changed


def refused_mode(mode: str | None) -> bool:
    """True (and says why) when `mode` is the webhook, which --reload does not restart."""
    if mode != "webhook":
        return False
    print(WEBHOOK_REFUSED, file=sys.stderr)
    return True


def child_command(args: argparse.Namespace) -> list[str]:
    """`python run.py` with the flags of this run, minus --reload and the sandbox's own."""
    argv = [sys.executable, str(PROJECT_ROOT / "run.py")]
    if args.env:
        argv += ["--env", args.env]
    if args.env_file:
        argv += ["--env-file", str(args.env_file)]
    if args.mode:
        argv += ["--mode", args.mode]
    if args.takeover:
        argv.append("--takeover")
    return argv


def watchfiles_installed() -> bool:
    """Whether the watchfiles package (the dev extra) can be imported."""
    try:
        import watchfiles  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name != "watchfiles":
            raise
        return False
    return True
