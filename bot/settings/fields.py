"""How a setting is declared: `setting()` and the types and helpers the sections share."""

from __future__ import annotations

import importlib.metadata
import tomllib
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import BaseModel, Field
from pydantic_settings import NoDecode


def find_project_root(package: Path, cwd: Path) -> Path:
    """The folder of the running project, given the `bot` package's folder: the one holding
    `run.py` beside `bot` (a checkout, an editable install, the Docker image's /app); for
    `bot` installed into site-packages (`pip install .`), the working directory, where the
    deploy guide and systemd run the bot's commands."""
    checkout = package.parent
    if (checkout / "run.py").is_file():
        return checkout
    return cwd.resolve()


def find_project_name(root: Path) -> str:
    """The project's name (its slug): `name` in pyproject.toml, the one place that holds it
    (copier writes it there); the installed distribution's when `bot` runs from elsewhere."""
    try:
        pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    except FileNotFoundError:
        return importlib.metadata.packages_distributions()["bot"][0]
    name: str = tomllib.loads(pyproject)["project"]["name"]
    return name


# Where `.env.*` are read, and what relative LOCK_DIR / LOG_FILE are relative to.
PROJECT_ROOT = find_project_root(Path(__file__).resolve().parents[1], Path.cwd())
# The systemd service, the Sentry release and nginx's names are made from it (deploy/render.py
# reads the same line).
PROJECT_NAME = find_project_name(PROJECT_ROOT)

AppEnv = Literal["local", "production"]
BotMode = Literal["polling", "webhook"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LogFormat = Literal["text", "json"]
# Lists are written `a,b,c` in env files, not as JSON.
CommaList = Annotated[tuple[str, ...], NoDecode]
IdList = Annotated[tuple[int, ...], NoDecode]
BOTH = ("local", "production")


# Given for a setting, it means "use the default": how the loader sets aside a bad value.
USE_DEFAULT = object()


def setting(
    default: Any = None,
    description: str = "",
    *,
    factory: Callable[[], Any] | None = None,
    shown_default: str | None = None,
    examples: tuple[str, ...] = BOTH,
    hint: str | None = None,
    **constraints: Any,
) -> Any:
    """A field with what the docs and the error messages need: `shown_default` replaces the
    default in the docs table, `examples` names the env examples that list the key, `hint`
    says what a valid value looks like; `factory` makes the default at load time."""
    extra: dict[str, Any] = {"env_examples": list(examples)}
    if shown_default is not None:
        extra["shown_default"] = shown_default
    if hint is not None:
        extra["hint"] = hint
    if factory is not None:
        return Field(default_factory=factory, description=description, json_schema_extra=extra)
    return Field(default, description=description, json_schema_extra=extra, **constraints)


def default_lock_dir() -> Path:
    """A folder of this account alone, so that nobody else can plant a lock file or holder
    details in it: the user's runtime folder (`$XDG_RUNTIME_DIR/telegram-bot` on Linux,
    `%LOCALAPPDATA%\\Temp\\telegram-bot` on Windows,
    `~/Library/Caches/TemporaryItems/telegram-bot` on macOS), else the user's cache folder."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, cron) and falls back to
        # `runtime-<uid>` in the temp folder, checked to be this account's.
        warnings.simplefilter("ignore")
        try:
            return Path(platformdirs.user_runtime_dir("telegram-bot", appauthor=False))
        except OSError:  # that fallback exists and belongs to someone else
            return Path(platformdirs.user_cache_dir("telegram-bot", appauthor=False))


def under_project_root(path: Path | None) -> Path | None:
    # An IDE, a terminal and a service start in different folders: a relative path means
    # the same place for all of them.
    return path if path is None or path.is_absolute() else PROJECT_ROOT / path


def unset(value: Any) -> bool:
    return value is None or value is USE_DEFAULT or (isinstance(value, str) and not value.strip())


def split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class Section(BaseModel):
    """The base of a settings section that takes part in what `Settings` says about itself.
    A section overrides a hook and adds its part to `super()`'s, so that every section is
    heard whatever the order of the sections."""

    def shares_state(self) -> bool:
        """True when the bot's processes share their state (a section configures it)."""
        return False

    def section_secrets(self) -> list[str]:
        """Values of this section that must never appear in logs or messages."""
        return []

    def section_problems(self) -> list[tuple[str, str]]:
        """(key, problem) for every rule between this section's values and the others'."""
        return []

    @classmethod
    def unshared(cls) -> dict[str, None]:
        """Values that keep every state in this one process (the sandbox sets them)."""
        return {}
