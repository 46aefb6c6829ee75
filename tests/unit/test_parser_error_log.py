"""aiohttp's parser errors become one bounded WARNING, where aiohttp alone and gunicorn log them."""

from __future__ import annotations

import logging

import pytest
from aiohttp.http_exceptions import BadHttpMessage

from bot.webhook.refusals import PARSER_ERROR_LOGGERS, quiet_parser_errors


@pytest.mark.parametrize("name", PARSER_ERROR_LOGGERS)
def test_parser_errors_are_summarised_without_a_traceback_and_bugs_keep_theirs(
    name: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = logging.getLogger(name)
    monkeypatch.setattr(log, "filters", [])  # a fresh summary, whatever ran before
    quiet_parser_errors()
    quiet_parser_errors()  # installed once, however often apps are created
    caplog.set_level(logging.DEBUG)

    for _ in range(500):
        try:
            raise BadHttpMessage("Invalid header")
        except BadHttpMessage:
            log.exception("Error handling request from %s", "127.0.0.7")
    try:
        raise RuntimeError("a bug in a handler")
    except RuntimeError:
        log.exception("Error handling request from %s", "127.0.0.8")

    summaries = [r for r in caplog.records if "Malformed HTTP request refused" in r.getMessage()]
    assert len(summaries) == 1 and summaries[0].levelno == logging.WARNING
    assert summaries[0].exc_info is None and "127.0.0.7" in summaries[0].getMessage()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None  # the bug keeps its traceback
