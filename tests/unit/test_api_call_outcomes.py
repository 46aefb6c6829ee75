"""How a Bot API call's failure is labelled in telegram_bot_api_requests_total: a dashboard groups
the 4xx answers by what went wrong, in a bounded set of labels."""

from __future__ import annotations

import pytest
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates, SendMessage

from bot.runtime.observability.call_outcomes import call_outcome

SEND = SendMessage(chat_id=1, text="hi")


@pytest.mark.parametrize(
    ("error", "labels"),
    [
        (None, ("ok", "")),
        (TelegramRetryAfter(SEND, "Too Many Requests: retry after 5", 5), ("429", "retry_after")),
        (TelegramServerError(SEND, "Internal Server Error"), ("5xx", "")),
        (
            TelegramNetworkError(SEND, "HTTP Client says - Request timeout error"),
            ("network_error", ""),
        ),
        (TimeoutError(), ("network_error", "")),
        (
            TelegramForbiddenError(SEND, "Forbidden: bot was blocked by the user"),
            ("4xx", "bot_blocked"),
        ),
        (TelegramBadRequest(SEND, "Bad Request: chat not found"), ("4xx", "chat_not_found")),
        (
            TelegramBadRequest(SEND, "Bad Request: message is not modified: specified new ..."),
            ("4xx", "message_not_modified"),
        ),
        (TelegramBadRequest(SEND, "Bad Request: something new"), ("4xx", "bad_request")),
        (TelegramForbiddenError(SEND, "Forbidden: something new"), ("4xx", "forbidden")),
        (
            TelegramConflictError(GetUpdates(), "Conflict: terminated by other getUpdates request"),
            ("4xx", "other_poller"),
        ),
        (ClientDecodeError("not JSON", ValueError(), "<html>"), ("other", "ClientDecodeError")),
    ],
)
def test_each_failure_gets_an_outcome_and_a_bounded_error_class(
    error: BaseException | None, labels: tuple[str, str]
) -> None:
    assert call_outcome(error) == labels


def test_an_undecodable_answer_is_described_without_its_content() -> None:
    from aiogram.exceptions import ClientDecodeError

    from bot.runtime.outgoing.api_errors import describe_error

    error = ClientDecodeError("Failed to decode object", ValueError("x"), "a user's secret words")
    described = describe_error(error)
    assert "Failed to decode object" in described and "ValueError" in described
    assert "secret words" not in described
