"""Error reports to Sentry (SENTRY_DSN, the `sentry` extra): one event per handler exception,
with the update's type and ids; without SENTRY_DSN nothing here runs.

What a report never carries: the token, the webhook secret, the shared state's password (replaced in
every string of the event before it leaves), request headers (the web framework integrations
are off), and, unless SENTRY_SEND_TEXT=true, the update's text and the local variables of the
failing frames. Log lines are not turned into events or breadcrumbs: the one event per
exception is sent here, by `report_handler_error`, not by the logging integration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from aiogram.types import Update

from bot import __version__
from bot.logs import Redactor
from bot.settings import PROJECT_NAME, Settings

# Texts shorter than this are left in reports: replacing "ok" everywhere would garble them.
MIN_SCRUBBED_TEXT = 4
# Where an update carries what a user wrote.
_TEXT_FIELDS = frozenset(
    {"text", "caption", "data", "query", "question", "first_name", "last_name"}
)

_reporter: ErrorReporter | None = None


class ErrorReporter:
    """Sends handler exceptions to Sentry, scrubbed (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        # Imported here: sentry-sdk is only needed with SENTRY_DSN.
        import sentry_sdk
        from sentry_sdk.integrations.logging import LoggingIntegration

        assert settings.sentry_dsn is not None
        self.send_text = settings.sentry_send_text
        self._redact = Redactor(settings.secrets())
        sentry_sdk.init(
            dsn=settings.sentry_dsn.get_secret_value(),
            environment=settings.app_env,
            release=f"{PROJECT_NAME}@{__version__}",  # the distribution's name and version
            # sentry-sdk 3's data_collection (it replaced send_default_pii and
            # include_local_variables): no user, cookie, header, query or body collection,
            # and the failing frames' local variables only with SENTRY_SEND_TEXT.
            data_collection={
                "user_info": False,
                "cookies": {"mode": "off"},
                "http_headers": {"request": {"mode": "off"}},
                "url_query_params": {"mode": "off"},
                "http_bodies": [],
                "stack_frame_variables": self.send_text,
            },
            # The aiohttp integration would attach the webhook request, its secret header too.
            auto_enabling_integrations=False,
            integrations=[LoggingIntegration(level=None, event_level=None)],
            before_send=lambda event, hint: _scrub(event, self._redact),
        )

    def report(self, exc: BaseException, update: Update, update_type: str) -> None:
        """One event for `exc`, raised while handling `update`."""
        import sentry_sdk  # only with SENTRY_DSN, as in __init__

        ids = _update_ids(update, update_type)
        with sentry_sdk.new_scope() as scope:
            scope.set_tag("update_type", update_type)
            scope.set_tag("update_id", str(update.update_id))
            scope.set_context("update", {"type": update_type, **ids})
            if self.send_text:
                scope.set_context("update_text", {"texts": list(_texts(update))})
            else:
                hidden = [t for t in _texts(update) if len(t) >= MIN_SCRUBBED_TEXT]
                redact_text = Redactor(hidden, shown="[text]")
                scope.add_event_processor(lambda event, hint: _scrub(event, redact_text))
            sentry_sdk.capture_exception(exc)


def setup_error_reports(settings: Settings) -> None:
    """Start reporting to SENTRY_DSN (once per process); without it, do nothing."""
    global _reporter
    if settings.sentry_dsn is not None and _reporter is None:
        _reporter = ErrorReporter(settings)


def report_handler_error(exc: BaseException, update: Update, update_type: str) -> None:
    """Report a handler's exception, when error reports are on."""
    if _reporter is not None:
        _reporter.report(exc, update, update_type)


def _update_ids(update: Update, update_type: str) -> dict[str, int]:
    ids = {"update_id": update.update_id}
    event = getattr(update, update_type, None)
    chat = getattr(event, "chat", None) or getattr(getattr(event, "message", None), "chat", None)
    user = getattr(event, "from_user", None)
    if chat is not None:
        ids["chat_id"] = chat.id
    if user is not None:
        ids["user_id"] = user.id
    return ids


def _texts(update: Update) -> Iterator[str]:
    """Every string a user wrote into the update (texts, captions, button data, queries)."""
    yield from _strings_under(update.model_dump(exclude_none=True), _TEXT_FIELDS)


def _strings_under(value: Any, keys: frozenset[str], inside: bool = False) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings_under(item, keys, inside or key in keys)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_under(item, keys, inside)
    elif inside and isinstance(value, str):
        yield value


def _scrub(event: Any, redact: Callable[[str], str]) -> Any:
    """`event` with `redact` applied to every string in it (keys included)."""
    if isinstance(event, str):
        return redact(event)
    if isinstance(event, dict):
        return {_scrub(k, redact): _scrub(v, redact) for k, v in event.items()}
    if isinstance(event, list | tuple):
        return [_scrub(item, redact) for item in event]
    return event
