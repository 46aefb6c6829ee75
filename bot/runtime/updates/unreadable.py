"""Updates from Telegram that aiogram cannot validate: skipped loudly instead of blocking a chat.

Telegram adds fields and types to the Bot API before aiogram knows them; an update in such a
shape fails aiogram's validation. Refusing it blocks more than that update: a webhook's 4xx
makes Telegram hold the chat's later updates back (retrying for up to a day), and in polling
aiogram's ClientDecodeError for the whole batch looks like an outage, retried forever with the
offset unchanged. Both modes skip it instead, with one ERROR naming the update and the field.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.exceptions import ClientDecodeError
from aiogram.types import Update
from pydantic import ValidationError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unreadable:
    """An update Telegram sent in a shape aiogram cannot read."""

    update_id: int
    problem: str  # the first validation error: "model_type at message.chat"


def first_problem(exc: ValidationError) -> str:
    """The first error of a validation as "<type> at <field path>" (no input values: privacy)."""
    error = exc.errors(include_url=False, include_input=False, include_context=False)[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{error['type']} at {where}"


def update_id_of(data: object) -> int | None:
    """The integer `update_id` of a decoded JSON object, or None."""
    update_id = data.get("update_id") if isinstance(data, dict) else None
    return update_id if isinstance(update_id, int) and not isinstance(update_id, bool) else None


def report_unreadable(item: Unreadable, what_happens: str) -> None:
    """Log the one ERROR of a skipped update; `what_happens` says how the mode skipped it."""
    logger.error(
        "Update %d cannot be read by aiogram (%s): %s, so that the chat's next updates are not "
        "held back. Upgrade aiogram if this is a Bot API field newer than it.",
        item.update_id,
        item.problem,
        what_happens,
    )


def split_batch(exc: ClientDecodeError, bot: Bot) -> list[Update | Unreadable] | None:
    """The getUpdates batch aiogram could not decode, update by update.

    None when the response is not a batch of updates with ids (then it is not Telegram's, or
    broken beyond skipping one update: the caller treats it as the Bot API being unusable).
    """
    data: Any = exc.data
    if not isinstance(exc.original, ValidationError) or not isinstance(data, dict):
        return None
    result = data.get("result")
    if data.get("ok") is not True or not isinstance(result, list):
        return None
    batch: list[Update | Unreadable] = []
    for raw in result:
        try:
            batch.append(Update.model_validate(raw, context={"bot": bot}))
        except ValidationError as error:
            update_id = update_id_of(raw)
            if update_id is None:
                return None
            batch.append(Unreadable(update_id, first_problem(error)))
    return batch
