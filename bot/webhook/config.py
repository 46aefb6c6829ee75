"""The settings of the webhook deploy, loaded the same way by the gunicorn master and workers.

Only the configuration loader is imported here (no aiogram), so a configuration mistake is
reported in well under a second, before anything heavy starts.
"""

from __future__ import annotations

import os

from bot.settings import ConfigError, Settings, load_settings


def load_webhook_settings() -> Settings:
    """The settings of the gunicorn master and workers, loaded the same way in both:
    `.env.$APP_ENV` (`production` by default) or the file named by ENV_FILE, overridden by the
    process environment (systemd's EnvironmentFile, compose's env_file). Webhook mode only."""
    settings = load_settings(
        env=os.environ.get("APP_ENV") or "production",
        env_file=os.environ.get("ENV_FILE") or None,
    )
    if settings.bot_mode != "webhook":
        raise ConfigError(
            [
                "BOT_MODE=polling, but gunicorn serves the webhook: set BOT_MODE=webhook in "
                "the production env file (or run `python run.py` to poll)."
            ],
            settings.env_file,
        )
    return settings
