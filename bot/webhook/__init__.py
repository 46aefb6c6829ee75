"""Production mode: the aiohttp application Telegram posts updates to, and its registration.

- `process.py`: `serve_webhook(settings)`, the app without gunicorn (`python run.py`);
- `app.py`: `create_app(settings)` and the gunicorn entry `gunicorn_app`;
- `handler.py`: the webhook route (secret, limits, validation, de-duplication, draining);
- `dedup.py`: which update ids were already taken (in memory, or in the shared state);
- `client_ip.py`: the real client address behind nginx, and Telegram's networks;
- `registration.py`: `ensure_webhook()`, run once per deploy (never by a worker);
- `__main__.py`: `python -m bot.webhook`, the registration the gunicorn master runs;
- `config.py`: the settings of gunicorn's master and workers (`.env.production`).
"""
