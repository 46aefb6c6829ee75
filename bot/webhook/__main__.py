"""`python -m bot.webhook`: register the webhook for a deploy; what the gunicorn master runs.

A process of its own, so that the gunicorn master never imports aiogram or the handlers: a
reload (HUP) then gives the new workers freshly imported code. The configuration is checked
before anything heavy is imported. Exit codes: 0 registered (or Telegram unreachable: served
as it is), 2 invalid configuration or a token/URL Telegram rejects.
"""

from __future__ import annotations

import asyncio
import os
import sys

from bot.exit_codes import ExitCode
from bot.settings import ConfigError
from bot.webhook.config import load_webhook_settings


def main() -> int:
    """Load the deploy's settings, then ensure_webhook() once; returns the exit code."""
    try:
        settings = load_webhook_settings()
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        return ExitCode.CONFIG
    graceful = os.environ.get("GUNICORN_GRACEFUL_TIMEOUT")
    if graceful is not None and float(graceful) <= settings.shutdown_timeout:
        print(
            f"gunicorn's graceful_timeout ({graceful} s) must be longer than SHUTDOWN_TIMEOUT "
            f"({settings.shutdown_timeout:g} s), or workers are killed while they drain: "
            "raise GUNICORN_GRACEFUL_TIMEOUT or lower SHUTDOWN_TIMEOUT.",
            file=sys.stderr,
        )
        return ExitCode.CONFIG

    from bot.logs import setup_logging
    from bot.webhook.registration import register_once

    setup_logging(settings)
    return asyncio.run(register_once(settings))


if __name__ == "__main__":
    raise SystemExit(main())
