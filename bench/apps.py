"""The three webhook apps the ingest benchmark compares, each run as its own process.

    python -m bench.apps {template,aiogram,aiogram-quiet,bare} --port N --api-url URL --secret S

- `template`: this project's app, `bot.webhook.app.create_app(settings)`, with every guard on
  (secret check, body limit, update_id de-duplication, in-flight bound) and the project's
  logging setup, exactly as `python run.py` configures it.
- `aiogram`: aiogram's own examples/echo_bot_webhook.py as written (SimpleRequestHandler +
  setup_application, `logging.basicConfig(level=INFO)`, `web.run_app` with its access log),
  with this project's handlers.
- `aiogram-quiet`: the same without its two log lines per update (aiogram's "Update id=...
  is handled" and aiohttp's access log), to show what logging alone costs.
- `bare`: aiohttp that parses the JSON body and answers 200: the ceiling for a Python app.

Every app runs on the same event loop (uvloop unless `--loop asyncio`) and prints
READY_LINE once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
APP_NAMES = ("template", "aiogram", "aiogram-quiet", "bare")
WEBHOOK_PATH = "/telegram/webhook"
READY_LINE = "bench-app: {name} listening on http://{host}:{port}"
# Any well-formed token works against the stub Bot API; it is never sent anywhere else.
BENCH_TOKEN = "123456789:bench-token-not-a-real-one"


def bare_app() -> web.Application:
    """aiohttp alone: read the body, parse the JSON, answer 200."""

    async def webhook(request: web.Request) -> web.Response:
        json.loads(await request.read())
        return web.Response()

    app = web.Application()
    app.router.add_post(WEBHOOK_PATH, webhook)
    return app


def aiogram_app(api_url: str, secret: str, quiet: bool = False) -> web.Application:
    """aiogram's examples/echo_bot_webhook.py, with this project's handlers routers."""
    from aiogram import Bot, Dispatcher
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.enums import ParseMode
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application

    import handlers

    # The example logs at INFO to stdout: aiogram then writes one line per handled update.
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, stream=sys.stdout)
    dispatcher = Dispatcher()
    dispatcher.include_routers(*handlers.get_routers())
    bot = Bot(
        token=BENCH_TOKEN,
        session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    # The example's on_startup set_webhook is left out: registration is not on the ingest path.
    app = web.Application()
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot, secret_token=secret).register(
        app, path=WEBHOOK_PATH
    )
    setup_application(app, dispatcher, bot=bot)
    return app


def template_environment(api_url: str, secret: str, host: str, port: int) -> dict[str, str]:
    """The variables the template reads in production, pointed at the stub Bot API."""
    return {
        "BOT_TOKEN": BENCH_TOKEN,
        "APP_ENV": "production",
        "BOT_MODE": "webhook",
        "TELEGRAM_API_URL": api_url,
        "WEBHOOK_BASE_URL": f"http://{host}:{port}",
        "WEBHOOK_PATH": WEBHOOK_PATH,
        "WEBHOOK_SECRET": secret,
        "WEB_HOST": host,
        "WEB_PORT": str(port),
        "LOG_LEVEL": "INFO",
    }


def template_app(api_url: str, secret: str, host: str, port: int) -> web.Application:
    """The template's production app as `gunicorn_app` builds it, configured through the
    template's own settings loader."""
    from bot.logs import setup_logging
    from bot.settings import load_settings
    from bot.webhook.app import create_app, freeze_startup_objects

    # An empty env file and environment=False: a developer's own .env.production or exported
    # variables must not change what is measured.
    empty_env_file = Path(tempfile.mkdtemp(prefix="bench-env-")) / ".env.bench"
    empty_env_file.touch()
    settings = load_settings(
        env_file=empty_env_file,
        environment=False,
        overrides=template_environment(api_url, secret, host, port),
    )
    setup_logging(settings)
    app = create_app(settings)
    # What gunicorn_app and `python run.py` do once started: freeze the start-up objects.
    app.on_startup.append(freeze_startup_objects)
    return app


async def aiogram_gunicorn_app() -> web.Application:
    """Gunicorn entry for the plain aiogram app (`bench.apps:aiogram_gunicorn_app`), used to
    validate the scale-out harness; configured by BENCH_API_URL and BENCH_SECRET."""
    return aiogram_app(os.environ["BENCH_API_URL"], os.environ["BENCH_SECRET"], quiet=True)


def build_app(name: str, api_url: str, secret: str, host: str, port: int) -> web.Application:
    """The named app, ready for web.run_app."""
    builders: dict[str, Callable[[], web.Application]] = {
        "template": lambda: template_app(api_url, secret, host, port),
        "aiogram": lambda: aiogram_app(api_url, secret),
        "aiogram-quiet": lambda: aiogram_app(api_url, secret, quiet=True),
        "bare": bare_app,
    }
    return builders[name]()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve one benchmark app on loopback.")
    parser.add_argument("name", choices=APP_NAMES)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True, help="Bot API base URL (the stub)")
    parser.add_argument("--secret", required=True, help="X-Telegram-Bot-Api-Secret-Token")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args()

    app = build_app(args.name, args.api_url, args.secret, args.host, args.port)
    loop: asyncio.AbstractEventLoop
    if args.loop == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ready = READY_LINE.format(name=args.name, host=args.host, port=args.port)
    # The aiogram example keeps aiohttp's access log, which basicConfig(INFO) prints.
    access_log = logging.getLogger("aiohttp.access") if args.name == "aiogram" else None
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        loop=loop,
        access_log=access_log,
        print=lambda _text: print(ready, flush=True),
        handle_signals=True,
    )


if __name__ == "__main__":
    main()
