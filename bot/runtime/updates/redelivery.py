"""An update that could not be handled for a reason outside its handler asks to come again.

When the shared state fails, or a conversation's lock cannot be taken in time, the
handlers' own error handler still runs (and may apologise), but the update must not count as
handled: the webhook answers 503 instead of 200 and the poller does not confirm it, so that
Telegram delivers it again. The reason is kept per update (a context variable: each update is
handled in its own task), and so is the update's id, for the shared state's per-update cache.
"""

from __future__ import annotations

from contextvars import ContextVar

_REASON: ContextVar[str | None] = ContextVar("redelivery_reason", default=None)
_UPDATE: ContextVar[int | None] = ContextVar("update_being_handled", default=None)


def ask_for_redelivery(reason: str) -> None:
    """Mark the update being handled in this task as "not handled: deliver it again"."""
    if _REASON.get() is None:
        _REASON.set(reason)


def redelivery_reason() -> str | None:
    """Why the update handled in this task must come again, or None when it was handled."""
    return _REASON.get()


def new_update(update_id: int) -> None:
    """Start handling `update_id` in this task, with no reason recorded."""
    _REASON.set(None)
    _UPDATE.set(update_id)


def current_update() -> int | None:
    """The update being handled in this task (None outside a handler)."""
    return _UPDATE.get()
