"""The one logging setup: a readable line per event, secrets redacted everywhere."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import Iterable
from pathlib import Path

from bot.settings import Settings, mask_token

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """Replaces the token and the webhook secret in every formatted line, tracebacks included.

    Redacting the final text (not the message arguments) also catches secrets inside
    exception messages and URLs that libraries log on their own.
    """

    def __init__(self, secrets: Iterable[str], fmt: str = LOG_FORMAT) -> None:
        super().__init__(fmt)
        self._replacements = [(s, _redacted(s)) for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret, shown in self._replacements:
            text = text.replace(secret, shown)
        return text


def _redacted(secret: str) -> str:
    masked = mask_token(secret)
    return masked if masked != "***" else "[secret]"


def setup_logging(settings: Settings, *, log_file: bool = True) -> None:
    """Configure the root logger: stderr, and a rotating LOG_FILE when set and `log_file`.

    A poller opens LOG_FILE only once it holds its lock (`add_log_file`): a second instance,
    refused at once, must not hold the file open, which on Windows blocks the first one's
    rollover (a file open elsewhere cannot be renamed there)."""
    formatter = RedactingFormatter(settings.secrets())
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file and settings.log_file is not None:
        handlers.append(_file_handler(settings.log_file))
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        handler.setFormatter(formatter)
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
    handler.setFormatter(RedactingFormatter(settings.secrets()))
    logging.getLogger().addHandler(handler)


def _file_handler(path: Path) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True)
    return logging.handlers.RotatingFileHandler(
        path, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"
    )
