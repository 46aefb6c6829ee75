"""The bot's configuration: the `Settings` class, and `load_settings()` to read it.

    from bot.settings import Settings   # the type handlers receive as `settings`

`model.py` declares every key (type, default, limits, description); `rules.py` holds what is
refused and the fix-it wording; `loading.py` reads flags, the environment and the env file.
"""

from bot.settings.loading import ConfigRead, env_names, load_settings, read_settings
from bot.settings.model import PROJECT_ROOT, Settings
from bot.settings.rules import ConfigError, mask_token, mask_url

__all__ = [
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
