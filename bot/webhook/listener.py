"""The webhook app's own listener when it runs without gunicorn: read timeouts and a connection cap.

`python run.py` in webhook mode may face the internet with no nginx in front. Without limits,
a client that opens connections and never finishes its headers or body holds them for as long
as it likes (a measured 50 slow connections stayed open 60 s), and enough of them exhaust the
process's file descriptors. So:

- a connection that has not sent a request's headers within WEB_READ_TIMEOUT is closed: aiohttp
  arms its keep-alive timer as a connection opens, so `keepalive_timeout` bounds the wait for
  the first headers as it bounds an idle keep-alive connection (Telegram reconnects when it
  needs to); the body has its own WEB_READ_TIMEOUT in the webhook handler (408);
- after a refusal (401, 408, 415...), aiohttp reads what is left of the body so that the
  client sees the answer rather than a reset; it does so for LINGER_SECONDS, not its default
  10 s, so a slow body costs at most WEB_READ_TIMEOUT + LINGER_SECONDS;
- beyond WEB_MAX_CONNECTIONS open connections, a new one is closed at once, and counted in a
  summary line per interval, never one line per connection.

Under gunicorn these come from gunicorn's `keepalive`, `timeout` and `worker_connections`.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.settings import Settings
from bot.webhook.refusals import RefusalLog

# Seconds aiohttp waits for open requests after the app's own drain (SHUTDOWN_TIMEOUT) ended.
EXTRA_CLOSE_TIMEOUT = 5.0
# Seconds aiohttp keeps reading the unread rest of a refused request's body before closing.
LINGER_SECONDS = 2.0


def make_runner(app: web.Application, settings: Settings) -> web.AppRunner:
    """The AppRunner of the standalone server, with its timeouts from the settings."""
    # access_log=None: one log line per update costs 9-17% of throughput; nginx logs requests.
    return web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        keepalive_timeout=settings.web_read_timeout,
        lingering_time=LINGER_SECONDS,
        shutdown_timeout=settings.shutdown_timeout + EXTRA_CLOSE_TIMEOUT,
    )


class _Refused(asyncio.Protocol):
    """A connection over the cap: closed as soon as it is made, nothing read."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class ConnectionCap:
    """The protocol factory of the listener: aiohttp's server up to `limit` open connections."""

    def __init__(self, server: web.Server, limit: int) -> None:
        self.server = server
        self.limit = limit
        self.refusals = RefusalLog("Connection")

    def __call__(self) -> asyncio.BaseProtocol:
        # `connections` counts the open ones: each registers as it is made, leaves as it ends.
        if len(self.server.connections) >= self.limit:
            self.refusals.refused(
                f"{self.limit} connections already open (WEB_MAX_CONNECTIONS); closed at once",
                "unknown",
            )
            return _Refused()
        return self.server()


async def listen(runner: web.AppRunner, host: str, port: int, limit: int) -> asyncio.Server:
    """Serve the set-up `runner` on host:port with at most `limit` connections open at once.

    The caller closes the returned server before `runner.cleanup()` (which drains requests).
    Raises OSError when the address cannot be listened on.
    """
    server = runner.server
    if server is None:
        raise RuntimeError("call runner.setup() before listen()")
    loop = asyncio.get_running_loop()
    return await loop.create_server(ConnectionCap(server, limit), host, port)
