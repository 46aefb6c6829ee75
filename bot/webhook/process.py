"""`python run.py` in webhook mode: the webhook app served by aiohttp alone on WEB_HOST:WEB_PORT.

For one process without gunicorn (a small VPS, Windows, trying production settings locally).
It registers the webhook once before serving, prints `Webhook app listening on http://HOST:PORT`
when ready, and on SIGTERM / Ctrl+C drains like a gunicorn worker, then exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from bot.exit_codes import ExitCode
from bot.owner import services_failed_message
from bot.runtime.stop_signals import stop_signals
from bot.settings import ConfigError, Settings
from bot.webhook.app import RUNTIME_KEY, create_app, freeze_startup_objects
from bot.webhook.listener import listen, make_runner
from bot.webhook.registration import register_for_deploy, shared_state_problem

logger = logging.getLogger(__name__)


def serve_webhook(settings: Settings) -> int:
    """Register the webhook, serve until SIGTERM or Ctrl+C; returns the exit code."""
    try:
        return asyncio.run(_serve(settings))
    except KeyboardInterrupt:  # Ctrl+C where signal handlers are unavailable (Windows)
        return ExitCode.OK


async def _serve(settings: Settings) -> int:
    if problem := await shared_state_problem(settings):
        logger.error(problem)
        return ExitCode.CONFIG
    # copier: if database
    # Without gunicorn this process is the whole deploy: it migrates, as gunicorn's master does.
    from bot.database.startup import upgrade_on_start

    if not await upgrade_on_start(settings):
        return ExitCode.ERROR
    # copier: endif
    try:
        app = create_app(settings)
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        return ExitCode.CONFIG
    runtime = app[RUNTIME_KEY]
    allowed = runtime.dispatcher.resolve_used_update_types()
    code = await register_for_deploy(runtime.bot, settings, allowed)
    if code != ExitCode.OK:
        await runtime.close()
        return code

    runner = make_runner(app, settings)
    try:
        await runner.setup()  # the app's startup: opens the runtime (the handlers' services)
    except Exception:
        logger.exception(services_failed_message(settings))
        await runtime.close()
        return ExitCode.ERROR
    listener: asyncio.Server | None = None
    try:
        try:
            listener = await listen(
                runner, settings.web_host, settings.web_port, settings.web_max_connections
            )
        except OSError as exc:
            logger.error(
                "Cannot listen on %s:%s (%s): another program uses the port, or the address "
                "is not on this machine. Change WEB_HOST / WEB_PORT.",
                settings.web_host,
                settings.web_port,
                exc.strerror or exc,
            )
            return ExitCode.ERROR
        await freeze_startup_objects()
        host, port = listener.sockets[0].getsockname()[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        logger.info("Webhook app listening on http://%s:%s", shown, port)
        await _wait_for_stop_signal()
        logger.info("Stopping: draining updates in flight (up to %gs)", settings.shutdown_timeout)
    finally:
        if listener is not None:
            listener.close()  # no new connections; cleanup drains the open ones
        await runner.cleanup()
    logger.info("Stopped")
    return ExitCode.OK


async def _wait_for_stop_signal() -> None:
    # The same signal handling as polling, so that Ctrl+C on Windows drains updates too.
    stop = asyncio.Event()
    with stop_signals(stop.set):
        await stop.wait()
