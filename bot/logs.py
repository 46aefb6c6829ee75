"""The one logging setup: a readable line (or a JSON object) per event, secrets redacted
everywhere."""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from pythonjsonlogger.json import JsonFormatter

from bot.settings import Settings, mask_token

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# LOG_FORMAT=json: these record attributes under these keys, plus `time` (ISO 8601, UTC) and
# whatever a call adds with `extra=`.
JSON_FIELDS = "{levelname}{name}{message}"
JSON_NAMES = {"levelname": "level", "name": "logger", "exc_info": "exception"}

# The update being handled in this task: what JSON lines carry as update_id and chat_id.
_UPDATE_IDS: ContextVar[dict[str, int]] = ContextVar("log_update_ids", default={})  # noqa: B039


@contextmanager
def update_ids(update_id: int, chat_id: int | None) -> Iterator[None]:
    """While the block runs, log records of this task carry `update_id` (and `chat_id`)."""
    ids = {"update_id": update_id}
    if chat_id is not None:
        ids["chat_id"] = chat_id
    reset = _UPDATE_IDS.set(ids)
    try:
        yield
    finally:
        _UPDATE_IDS.reset(reset)


class UpdateIdsFilter(logging.Filter):
    """Adds the ids of the update being handled to each record (a record's own win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _UPDATE_IDS.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class Redactor:
    """Replaces the token and the other secrets in a finished text."""

    def __init__(
        self, secrets: Iterable[str], json_escaped: bool = False, shown: str | None = None
    ) -> None:
        """`shown` replaces every secret (default: a token masked, anything else `[secret]`)."""
        self._replacements = [(s, shown or _redacted(s)) for s in secrets if s]
        if json_escaped:
            # Inside a JSON string a password with `"` or `\` is escaped: replace that form too.
            self._replacements += [
                (escaped, shown)
                for secret, shown in list(self._replacements)
                if (escaped := json.dumps(secret)[1:-1]) != secret
            ]

    def __call__(self, text: str) -> str:
        for secret, shown in self._replacements:
            text = text.replace(secret, shown)
        return text


class RedactingFormatter(logging.Formatter):
    """Replaces the token and the webhook secret in every formatted line, tracebacks included.

    Redacting the final text (not the message arguments) also catches secrets inside
    exception messages and URLs that libraries log on their own.
    """

    def __init__(self, secrets: Iterable[str], fmt: str = LOG_FORMAT) -> None:
        super().__init__(fmt)
        self._redact = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


class RedactingJsonFormatter(JsonFormatter):
    """LOG_FORMAT=json: one JSON object per line, redacted like the text lines."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__(JSON_FIELDS, style="{", rename_fields=JSON_NAMES, timestamp="time")
        self._redact = Redactor(secrets, json_escaped=True)

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


def _redacted(secret: str) -> str:
    masked = mask_token(secret)
    return masked if masked != "***" else "[secret]"


def make_formatter(settings: Settings) -> logging.Formatter:
    """The formatter LOG_FORMAT names, redacting these settings' secrets."""
    if settings.log_format == "json":
        return RedactingJsonFormatter(settings.secrets())
    return RedactingFormatter(settings.secrets())


def setup_logging(settings: Settings, *, log_file: bool = True) -> None:
    """Configure the root logger: stderr, and a rotating LOG_FILE when set and `log_file`.

    A poller opens LOG_FILE only once it holds its lock (`add_log_file`): a second instance,
    refused at once, must not hold the file open, which on Windows blocks the first one's
    rollover (a file open elsewhere cannot be renamed there)."""
    formatter = make_formatter(settings)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file and settings.log_file is not None:
        handlers.append(_file_handler(settings.log_file))
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(UpdateIdsFilter())
        root.addHandler(handler)
    root.setLevel(settings.log_level)
    # aiogram logs every handled update at INFO ("Update id=... is handled"): one line per
    # update costs 9-17% of throughput and floods the journal, so keep it for DEBUG.
    if settings.log_level != "DEBUG":
        logging.getLogger("aiogram.event").setLevel(logging.WARNING)


def add_log_file(settings: Settings) -> None:
    """Start writing LOG_FILE too (when set), in the format `setup_logging` gave stderr."""
    if settings.log_file is None:
        return
    handler = _file_handler(settings.log_file)
    handler.setFormatter(make_formatter(settings))
    handler.addFilter(UpdateIdsFilter())
    logging.getLogger().addHandler(handler)


def _file_handler(path: Path) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True)
    return logging.handlers.RotatingFileHandler(
        path, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"
    )
