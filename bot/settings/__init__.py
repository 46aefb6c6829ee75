"""The bot's configuration: the `Settings` class, and `load_settings()` to read it.

    from bot.settings import Settings   # the type handlers receive as `settings`

`sections.py` declares the runtime's keys (type, default, limits, description) and
`features.py` your bot's own; `model.py` makes them one class; `rules.py` holds what is
refused and the fix-it wording; `loading.py` reads flags, the environment and the env file.
"""

from bot.settings.fields import PROJECT_NAME, PROJECT_ROOT
from bot.settings.loading import ConfigRead, env_names, load_settings, read_settings
from bot.settings.model import Settings
from bot.settings.rules import ConfigError, mask_token, mask_url

__all__ = [
    "PROJECT_NAME",
    "PROJECT_ROOT",
    "ConfigError",
    "ConfigRead",
    "Settings",
    "env_names",
    "load_settings",
    "mask_token",
    "mask_url",
    "read_settings",
]
