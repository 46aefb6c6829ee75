"""Your settings class, `FeatureSettings` of `handlers/settings.py`, for `model.py` to make part
of the one `Settings`.

It is read without running the rest of `handlers/` (whose `__init__.py` imports aiogram, which
takes seconds): settings are loaded before the polling lock is taken, and a second poller must
be refused before that import. So `handlers/settings.py` imports only pydantic and
`bot.settings.fields`; an import-linter contract holds it to that.
"""

from __future__ import annotations

import importlib.util
import sys

from pydantic import BaseModel

MODULE = "handlers.settings"


def feature_settings() -> type[BaseModel]:
    """`handlers.settings.FeatureSettings`: the module already imported, or read on its own."""
    module = sys.modules.get(MODULE)
    if module is None:
        package = importlib.util.find_spec("handlers")  # finds it without importing it
        if package is None or not package.submodule_search_locations:
            raise ImportError(
                "No handlers/ package: the bot's settings are in handlers/settings.py"
            )
        path = f"{next(iter(package.submodule_search_locations))}/settings.py"
        spec = importlib.util.spec_from_file_location(MODULE, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[MODULE] = module  # `import handlers.settings` later gets this one
        spec.loader.exec_module(module)
    settings: type[BaseModel] = module.FeatureSettings
    return settings
