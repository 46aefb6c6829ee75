"""The webhook application: `create_app(settings)`, and `gunicorn_app` for gunicorn's workers.

    gunicorn -c deploy/gunicorn.conf.py bot.webhook.app:gunicorn_app

Routes: POST WEBHOOK_PATH (the updates, see `handler.py`), GET /healthz (the process is alive),
GET /readyz (ready for updates; 503 while starting or draining), GET /metrics (Prometheus; the
nginx site does not publish it); anything else is a 404.
Each worker builds its own `BotRuntime` (bot.owner) and never sets or deletes the webhook.

Lifecycle: on_startup opens the runtime (the handlers' services) and emits the dispatcher's
startup; on_shutdown (SIGTERM, gunicorn reload) drains: new updates get 503, in-flight ones
get SHUTDOWN_TIMEOUT seconds; on_cleanup, once nothing is in flight, closes the runtime in its
one order (shutdown hooks, services, broadcaster, FSM storage, shared state, and the bot
session last, so a finishing handler can still call the Bot API).
"""

from __future__ import annotations

import gc
import logging
import os

from aiohttp import web

from bot.logs import setup_logging
from bot.owner import BotRuntime
from bot.pipeline import UpdatePipeline
from bot.runtime.observability.metrics_server import metrics_endpoint
from bot.settings import ConfigError, Settings
from bot.webhook.client_ip import ClientAddressResolver
from bot.webhook.config import load_webhook_settings
from bot.webhook.handler import WebhookHandler
from bot.webhook.refusals import quiet_parser_errors
from bot.webhook.webhook_info import WebhookInfoWatch

logger = logging.getLogger(__name__)

HANDLER_KEY = web.AppKey("webhook_handler", WebhookHandler)
RUNTIME_KEY = web.AppKey("runtime", BotRuntime)


def create_app(settings: Settings, runtime: BotRuntime | None = None) -> web.Application:
    """The aiohttp app serving the webhook with `runtime` (built from the settings unless
    given: tests and benchmarks pass theirs). The app owns it: enters it at startup and leaves
    it at cleanup, once the updates in flight are drained."""
    secret = settings.webhook_secret_value  # ConfigError without one
    try:
        client_addresses = ClientAddressResolver(settings.trusted_proxies)
    except ValueError as exc:
        raise ConfigError([str(exc)]) from None
    runtime = runtime or BotRuntime(settings)
    bot, shared = runtime.bot, runtime.shared

    handler = WebhookHandler(
        UpdatePipeline(runtime),
        secret=secret,
        max_body_bytes=settings.webhook_max_body_bytes,
        max_in_flight=settings.webhook_max_in_flight,
        read_timeout=settings.web_read_timeout,
        client_addresses=client_addresses,
        ip_allowlist=settings.webhook_ip_allowlist,
        shared_state_down=shared.unavailable_reason if shared else (lambda: None),
    )
    quiet_parser_errors()
    # client_max_size: aiohttp refuses larger bodies itself (chunked ones included).
    app = web.Application(client_max_size=settings.webhook_max_body_bytes)
    app[HANDLER_KEY] = handler
    app[RUNTIME_KEY] = runtime
    app.router.add_post(settings.webhook_path, handler.handle)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_endpoint)

    webhook_info = WebhookInfoWatch(bot, settings.webhook_info_interval)

    async def on_startup(app: web.Application) -> None:
        await runtime.open()
        await runtime.emit_startup(app=app)
        handler.started = True
        webhook_info.start()

    async def on_shutdown(app: web.Application) -> None:
        await webhook_info.stop()
        await handler.drain(settings.shutdown_timeout)

    async def on_cleanup(app: web.Application) -> None:
        await runtime.close()  # shutdown hooks, services, broadcaster, storage, state, session

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app


async def healthz(request: web.Request) -> web.Response:
    """200 while the process serves requests at all."""
    return web.Response(text="ok")


async def readyz(request: web.Request) -> web.Response:
    """200 when updates are taken; 503 with the reason while starting, draining, or while the
    shared state cannot be reached."""
    reason = request.app[HANDLER_KEY].not_ready
    if reason is None:
        return web.Response(text="ready")
    return web.Response(status=503, text=f"not ready: {reason}")


async def gunicorn_app() -> web.Application:
    """gunicorn's aiohttp worker calls this once per worker process (after the fork)."""
    settings = load_webhook_settings()
    setup_logging(settings)
    app = create_app(settings)
    app.on_startup.append(freeze_startup_objects)
    app.on_startup.append(_log_worker_ready)
    return app


async def _log_worker_ready(app: web.Application) -> None:
    logger.info("Webhook worker %d ready", os.getpid())


async def freeze_startup_objects(app: web.Application | None = None) -> None:
    """Move everything built at start-up out of the garbage collector's way.

    aiogram creates ~190k long-lived objects at import; full collections walking them paused
    the process ~200 ms (the p99 latency); frozen, the longest pause is a few ms.
    """
    gc.collect()
    gc.freeze()
