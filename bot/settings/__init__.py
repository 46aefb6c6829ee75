"""The bot's configuration: the `Settings` class, and `load_settings()` to read it.

    from bot.settings import Settings   # the type of every settings object

`sections.py` declares the runtime's keys (type, default, limits, description) and
`handlers/settings.py` your bot's own; `model.py` makes them one class; `rules.py` holds what is
refused and the fix-it wording; `loading.py` reads flags, the environment and the env file.

The names below are imported on first use: `handlers/settings.py` builds its fields with
`bot.settings.fields`, and `model.py` reads `handlers/settings.py`, so importing this package
must not import `model.py` by itself (whichever of the two is imported first).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.settings.fields import PROJECT_NAME, PROJECT_ROOT
    from bot.settings.loading import ConfigRead, env_names, load_settings, read_settings
    from bot.settings.model import Settings
    from bot.settings.rules import ConfigError, mask_token, mask_url

# Each public name, and the module of this package that defines it.
_HOMES = {
    "PROJECT_NAME": "fields",
    "PROJECT_ROOT": "fields",
    "ConfigError": "rules",
    "ConfigRead": "loading",
    "Settings": "model",
    "env_names": "loading",
    "load_settings": "loading",
    "mask_token": "rules",
    "mask_url": "rules",
    "read_settings": "loading",
}
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


def __getattr__(name: str) -> Any:
    """`bot.settings.Settings` and the rest, from the module that defines them."""
    if name not in _HOMES:
        raise AttributeError(f"module 'bot.settings' has no attribute {name!r}")
    return getattr(importlib.import_module(f"bot.settings.{_HOMES[name]}"), name)
