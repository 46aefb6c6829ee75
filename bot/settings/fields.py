"""How a setting is declared: `setting()` and the types and helpers the sections share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field
from pydantic_settings import NoDecode

PROJECT_ROOT = Path(__file__).resolve().parents[2]

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
