"""`python run.py --sandbox`: the bot against the offline Bot API emulator, with a chat page.

No token, no env file, no network: the emulator (`sandbox/`, a development tool) serves on a
loopback port in a thread of its own, and the bot runs exactly as `python run.py` runs it,
from the same settings loader with flags: a made-up token, TELEGRAM_API_URL = the emulator,
a temporary LOCK_DIR. Polling is the real lock and `PollingRunner`; `--mode webhook` is the
real webhook app, registered with `ensure_webhook()` and served on a free loopback port, with
the emulator delivering to it (secret header, retries). Your env file still supplies your
own settings (those of handlers/settings.py). Ctrl+C stops the bot, then the emulator. With
`--reload` the emulator stays in this process and the bot runs as a child of the reloader
(`bot/reload/`) with the same flags, so the chat page survives every restart.

This is the one module of `bot/` that imports `sandbox`, inside a function: a production
install (`pip install .`) has no `sandbox/`, and says so here. Its flags are its own:
`bot/cli.py` asks this module for them (RUN_EXTENSIONS), so a project generated without the
sandbox, which has no such file, has no `--sandbox`.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import secrets
import socket
import sys
import tempfile
import threading
import webbrowser
from collections.abc import Callable, Mapping
from typing import Any

from bot.exit_codes import ExitCode
from bot.settings import ConfigError, Settings, load_settings

# A made-up token: the emulator accepts any well-formed one and makes it a bot of its own.
SANDBOX_TOKEN = "123456:sandbox"  # noqa: S105
# The chat page's port when it is free (bookmarkable); otherwise any free one.
PREFERRED_PORT = 8081
# The project's pytest plugin that runs this bot under the sandbox's `tg` fixture: tests
# exported from the chat page name it, so they run from any folder.
TEST_PLUGIN = "tests.sandbox_bot"
NOT_INSTALLED = (
    "The sandbox is not installed here: it is a development tool that lives in the project's "
    "checkout (sandbox/), not in `pip install .` or the Docker image. Run "
    '`python -m pip install -e ".[dev]"` in a clone of the repository, then '
    "`python run.py --sandbox` there."
)
READY_TIMEOUT = 30.0


class EmulatorThread:
    """The emulator, served by an event loop of its own in a daemon thread."""

    def __init__(self) -> None:
        self._ready: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="sandbox-emulator", daemon=True)

    def start(self) -> str:
        """Start serving; returns the emulator's base URL (the chat page's address)."""
        self._thread.start()
        return self._ready.result(READY_TIMEOUT)

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(READY_TIMEOUT)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            if self._ready.done():
                raise
            self._ready.set_exception(exc)  # start() raises it in the main thread

    async def _serve(self) -> None:
        from sandbox import Emulator, FloodLimits  # only here: see the module docstring

        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        # Telegram's flood limits, so the sandbox shows what a too-fast bot meets.
        options: dict[str, Any] = {"test_plugins": (TEST_PLUGIN,), "flood_limits": FloodLimits()}
        emulator = Emulator(port=PREFERRED_PORT, **options)
        try:
            await emulator.start()
        except OSError:  # the port is taken, e.g. by another `--sandbox`
            await emulator.stop()
            emulator = Emulator(port=0, **options)
            await emulator.start()
        self._ready.set_result(emulator.base_url)
        try:
            await self._stop.wait()
        finally:
            await emulator.stop()


def add_run_arguments(parser: argparse.ArgumentParser, default: object) -> None:
    """`--sandbox` and `--open`, on `run` and on the bare command line (see bot/cli.py)."""
    flag = False if default is None else default
    parser.add_argument(
        "--sandbox",
        action="store_true",
        default=flag,
        help="run against the offline Bot API emulator and its chat page: no token, no network",
    )
    parser.add_argument(
        "--open", action="store_true", default=flag, help="with --sandbox: open the chat page"
    )


def run_instead(
    args: argparse.Namespace,
    start_bot: Callable[[Settings], int],
    supervise: Callable[[Settings, Mapping[str, Any] | None], int],
) -> int | None:
    """`--sandbox`: the bot against the emulator, under the reloader with `--reload`; the exit
    code, or None when this run is not the sandbox's."""
    if not args.sandbox:
        if args.open:
            print("--open opens the sandbox's chat page: use it with --sandbox.", file=sys.stderr)
            return ExitCode.CONFIG
        return None
    if args.reload:
        return run_sandbox(args, lambda settings: supervise(settings, bot_overrides(settings)))
    return run_sandbox(args, start_bot)


def sandbox_installed() -> bool:
    """Whether `sandbox/` can be imported (a checkout, not a production install)."""
    try:
        import sandbox  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name != "sandbox":
            raise
        return False
    return True


def run_sandbox(args: argparse.Namespace, start_bot: Callable[[Settings], int]) -> int:
    """Run the emulator, and the bot with `start_bot` (what `python run.py` runs), until
    Ctrl+C; returns the process exit code."""
    if not sandbox_installed():
        print(NOT_INSTALLED, file=sys.stderr)
        return ExitCode.CONFIG
    emulator = EmulatorThread()
    try:
        with tempfile.TemporaryDirectory(prefix="telegram-bot-sandbox-") as lock_dir:
            page = emulator.start()
            try:
                settings = sandbox_settings(args, page, lock_dir)
            except ConfigError as exc:
                print(exc.report(), file=sys.stderr)
                return ExitCode.CONFIG
            announce(settings, page, open_browser=args.open)
            return start_bot(settings)
    except KeyboardInterrupt:  # Ctrl+C before the bot's own signal handling started
        return ExitCode.OK
    finally:
        emulator.stop()


def sandbox_settings(args: argparse.Namespace, api_url: str, lock_dir: str) -> Settings:
    """The normal settings, with the sandbox's token, API URL, LOCK_DIR and mode as flags."""
    overrides: dict[str, Any] = {
        "bot_token": SANDBOX_TOKEN,
        "telegram_api_url": api_url,
        "lock_dir": lock_dir,
        "bot_mode": args.mode or "polling",
        **Settings.unshared(),  # the sandbox's state stays in its one process
    }
    if overrides["bot_mode"] == "webhook":
        port = free_port()
        overrides |= {
            "webhook_base_url": f"http://127.0.0.1:{port}",
            "webhook_secret": secrets.token_urlsafe(32),
            "web_host": "127.0.0.1",
            "web_port": port,
            "webhook_ip_allowlist": False,  # deliveries come from 127.0.0.1, not Telegram
        }
    return load_settings(env=args.env, env_file=args.env_file, overrides=overrides, root=args.root)


def bot_overrides(settings: Settings) -> dict[str, str | None]:
    """The flags `sandbox_settings` sets for polling, as JSON values, for the bot that
    `--sandbox --reload` starts as a process of its own: it talks to this process's emulator."""
    return {
        "bot_token": settings.bot_token.get_secret_value() if settings.bot_token else None,
        "telegram_api_url": settings.telegram_api_url,
        "lock_dir": str(settings.lock_dir),
        "bot_mode": settings.bot_mode,
        **Settings.unshared(),
    }


def free_port() -> int:
    """A loopback TCP port that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def announce(settings: Settings, page: str, *, open_browser: bool) -> None:
    """Print where the chat page is (and open it with --open)."""
    url = f"{page}/"
    print(f"Sandbox: chat with the bot at {url} (a local page: no token, no network).")
    if settings.bot_mode == "webhook":
        print(
            f"Sandbox: the emulator delivers updates to the webhook app at {settings.webhook_url}"
        )
    print("Sandbox: press Ctrl+C to stop the bot and the sandbox.", flush=True)
    if open_browser:
        webbrowser.open(url)
