"""A handler test replaces a service of the lifespan (tests/fixtures/service_handlers.py, a
feature with a client and a per-update session) by name; the real one is never opened."""

import pytest

from sandbox.testing import TestUser
from tests.fixtures import service_handlers
from tests.fixtures.service_handlers import EVENTS

MODULE = "tests.fixtures.service_handlers"


class FakeWeather:
    """What a handler test puts in place of the real client."""

    async def forecast(self, city: str) -> str:
        return f"Snow in {city}"


@pytest.fixture(autouse=True)
def _fresh_events() -> None:
    service_handlers.reset()


@pytest.mark.bot_settings(HANDLERS_MODULE=MODULE)
@pytest.mark.bot_services(weather=FakeWeather())
async def test_a_handler_test_replaces_a_service_and_the_real_one_is_never_opened(
    user: TestUser,
) -> None:
    reply = await user.send("/weather")

    assert reply.text == "Snow in Lisbon (session 1)"
    assert EVENTS == ["session 1 opened", "session 1 committed"]  # no "weather opened"
