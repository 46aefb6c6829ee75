"""`GET /metrics`: the webhook app's route, and in polling mode a small server of its own on
METRICS_HOST:METRICS_PORT (loopback by default)."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.runtime.observability.metrics import CONTENT_TYPE, exposition
from bot.settings import Settings

logger = logging.getLogger(__name__)


async def metrics_endpoint(request: web.Request) -> web.Response:
    """The Prometheus text format (under gunicorn: the sum over every worker)."""
    return web.Response(body=exposition(), headers={"Content-Type": CONTENT_TYPE})


class MetricsServer:
    """Serves /metrics while polling, when METRICS_PORT is set."""

    def __init__(self, settings: Settings) -> None:
        self.host = settings.metrics_host
        self.port = settings.metrics_port
        self._runner: web.AppRunner | None = None

    async def start(self) -> bool:
        """Listen (a no-op without METRICS_PORT); False, logged, when the port is taken."""
        if self.port is None:
            return True
        app = web.Application()
        app.router.add_get("/metrics", metrics_endpoint)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as exc:
            logger.error(
                "Cannot serve metrics on %s:%s (%s): another program uses the port, or the "
                "address is not on this machine. Change METRICS_PORT (or unset it).",
                self.host,
                self.port,
                exc.strerror or exc,
            )
            await self.stop()
            return False
        shown = f"[{self.host}]" if ":" in self.host else self.host
        logger.info("Metrics at http://%s:%s/metrics", shown, self.port)
        return True

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
