"""Reading the settings: which env file, every problem at once, and a partial view for doctor.

Precedence, highest first: command-line flags, the process environment, the env file
(`.env.<APP_ENV>` at the project root, or `--env-file`), defaults. Nothing here imports
aiogram, so a bad configuration is reported in well under a second.

Every problem is collected, not only the first: the values are validated once; the ones that
fail are set aside (their defaults stand in), which gives `partial`, a Settings object that
`doctor` can still check; then the rules between settings are checked on it.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotated_types import Ge, Le
from pydantic import SecretStr, ValidationError
from pydantic.fields import FieldInfo

from bot.settings.fields import PROJECT_ROOT, USE_DEFAULT
from bot.settings.model import LOAD_OPTIONS, SECTIONS, LoadOptions, Settings
from bot.settings.rules import ConfigError


@dataclass(frozen=True)
class ConfigRead:
    """What reading the configuration found."""

    settings: Settings | None  # None unless every value and rule is fine
    partial: Settings  # always: invalid values replaced by their defaults
    problems: list[str]  # each with its fix, in the order to read them
    env_file: Path  # the file that was looked for
    env_file_found: bool
    invalid: frozenset[str] = frozenset()  # fields whose value was set aside for its default


def field_names() -> list[str]:
    """Every field of the settings, section by section as the docs list them."""
    return [name for section in SECTIONS for name in section.model_fields]


def env_names() -> list[str]:
    """Every variable the settings read (`BOT_TOKEN`, ...), in the docs' order."""
    return [name.upper() for name in field_names()]


def resolve_env_file(env: str | None, env_file: str | Path | None, root: Path) -> tuple[Path, bool]:
    """Which env file to read, and whether it was named explicitly (`--env-file`)."""
    if env_file is not None:
        return Path(env_file), True
    app_env = (env or os.environ.get("APP_ENV") or "local").strip().lower() or "local"
    return root / f".env.{app_env}", False


def read_settings(
    env: str | None = None,
    env_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    root: Path = PROJECT_ROOT,
    environment: bool = True,
) -> ConfigRead:
    """Read flags (`env`, `env_file`, `overrides` by variable or field name), the process
    environment (unless `environment` is false) and the env file; never raises."""
    path, explicit = resolve_env_file(env, env_file, root)
    problems: list[str] = []
    readable = _usable_env_file(path, explicit, problems)
    flags = {name.lower(): value for name, value in (overrides or {}).items()}
    if env is not None:
        flags["app_env"] = env

    partial, bad = _validate(readable, flags, LoadOptions(environment=environment, lenient=True))
    found = [
        *bad.items(),
        *((k.lower(), t) for k, t in partial.rule_problems() if k.lower() not in bad),
    ]
    order = field_names()
    problems += [text for _, text in sorted(found, key=lambda item: order.index(item[0]))]
    if problems and readable is None and not explicit and not path.is_file():
        problems.insert(0, _no_env_file(path))
    partial._env_file = readable
    return ConfigRead(
        settings=None if problems else partial,
        partial=partial,
        problems=problems,
        env_file=path,
        env_file_found=readable is not None,
        invalid=frozenset(bad),
    )


def load_settings(
    env: str | None = None,
    env_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    root: Path = PROJECT_ROOT,
    environment: bool = True,
) -> Settings:
    """The settings, or ConfigError listing every problem with its fix (see read_settings)."""
    read = read_settings(env, env_file, overrides, root=root, environment=environment)
    if read.settings is None:
        raise ConfigError(read.problems, read.env_file if read.env_file_found else None)
    return read.settings


def _validate(
    env_file: Path | None, flags: dict[str, Any], options: LoadOptions
) -> tuple[Settings, dict[str, str]]:
    """Settings from the sources, and {field: problem} for the values that had to be set
    aside (each failing value is replaced by its default, until everything left is valid)."""
    bad: dict[str, str] = {}
    token = LOAD_OPTIONS.set(options)
    try:
        for _ in range(len(Settings.model_fields) + 1):
            try:
                return Settings(_env_file=env_file, **flags), bad  # type: ignore[call-arg]
            except ValidationError as exc:
                for error in exc.errors(include_url=False):
                    if error["loc"]:
                        name = str(error["loc"][0])
                        bad.setdefault(name, _describe(name, error))
                        flags[name] = USE_DEFAULT
        raise AssertionError("the defaults of the settings do not validate")  # a bug here
    finally:
        LOAD_OPTIONS.reset(token)


def _describe(name: str, error: Any) -> str:
    """One problem in words: the validator's own sentence, or what a valid value looks like."""
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    field = Settings.model_fields[name]
    key = name.upper()
    shown = "" if _is_secret(field) else f"={error['input']!r}"
    return f"{key}{shown} is not valid: {hint(field)}."


def hint(field: FieldInfo) -> str:
    """What a valid value of this field looks like, for an error message."""
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if isinstance(extra.get("hint"), str):
        return str(extra["hint"])
    annotation = field.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return "use one of " + ", ".join(str(a) for a in typing.get_args(annotation))
    if annotation is bool:
        return "true or false"
    low = next((m.ge for m in field.metadata if isinstance(m, Ge)), None)
    high = next((m.le for m in field.metadata if isinstance(m, Le)), None)
    number = "a whole number" if annotation is int else "a number"
    if low is not None and high is not None:
        return f"{number} from {low} to {high}"
    return number if annotation in (int, float) else "see the configuration reference"


def _is_secret(field: FieldInfo) -> bool:
    return SecretStr in typing.get_args(field.annotation) or field.annotation is SecretStr


def _usable_env_file(path: Path, explicit: bool, problems: list[str]) -> Path | None:
    """`path` if it can be read as text; otherwise None, with the reason in `problems`."""
    if not path.is_file():
        if explicit:
            problems.append(f"The env file {path} does not exist; check the --env-file path.")
        return None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(f"{path} cannot be read ({exc.strerror or exc}); check its permissions.")
        return None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        problems.append(
            f"{path} is saved as UTF-16 (PowerShell 5.1's `>` does that): save it as UTF-8, "
            "e.g. in Notepad with File > Save as > Encoding: UTF-8."
        )
        return None
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(f"{path} is not UTF-8 text: save it as UTF-8.")
        return None
    return path


def _no_env_file(path: Path) -> str:
    example = Path("env") / f"{path.name}.example"
    copied_as_text = path.with_name(path.name + ".txt")
    if copied_as_text.is_file():
        return (
            f"No {path.name} found in {path.parent}, but {copied_as_text.name} is there: "
            f"rename it to {path.name} (Windows Explorer hides the .txt ending)."
        )
    return (
        f"No {path.name} found in {path.parent}: copy {example} to {path.name} and fill it "
        "in (or set the variables in the environment)."
    )
