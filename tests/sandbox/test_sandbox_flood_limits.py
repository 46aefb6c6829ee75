"""The emulator's flood limits: past a chat's, a group's or the global budget, Telegram's 429
with `parameters.retry_after`; methods that send nothing are never limited."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from sandbox import Emulator, FloodLimits
from sandbox.flood import Bucket, Window
from tests.helpers.emulator import call

# Slow rates, so that no token comes back while a test runs.
LIMITS = FloodLimits(
    chat_per_second=0.1,
    chat_burst=3,
    group_per_minute=1,
    group_burst=5,
    global_per_second=0.1,
    global_burst=12,
)


@pytest.fixture
async def limited() -> AsyncIterator[Emulator]:
    async with Emulator(flood_limits=LIMITS) as tg:
        yield tg


async def send(
    http: aiohttp.ClientSession, tg: Emulator, token: str, chat_id: int
) -> tuple[int, dict]:
    return await call(http, tg, token, "sendMessage", chat_id=chat_id, text="hi")


async def test_a_chat_takes_its_burst_then_gets_429_with_retry_after(
    limited: Emulator, http: aiohttp.ClientSession, token: str
) -> None:
    limited.add_chats(token, [1])
    statuses = [(await send(http, limited, token, 1))[0] for _ in range(3)]
    status, body = await send(http, limited, token, 1)

    assert statuses == [200, 200, 200]
    assert status == 429
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 10",
        "parameters": {"retry_after": 10},
    }
    assert len(limited.bot_messages(token, 1)) == 3  # the refused one was not sent
    assert (await call(http, limited, token, "getMe"))[0] == 200
    assert (await call(http, limited, token, "sendChatAction", chat_id=1, action="typing"))[
        0
    ] == 200


async def test_a_group_has_its_own_budget_and_the_global_one_binds_all_chats(
    limited: Emulator, http: aiohttp.ClientSession, token: str
) -> None:
    limited.add_chats(token, [-5], chat_type="supergroup")
    limited.add_chats(token, [1, 2, 3])
    group = [(await send(http, limited, token, -5))[0] for _ in range(6)]
    others = [(await send(http, limited, token, chat))[0] for chat in (1, 1, 2, 2, 3, 3, 1, 2)]

    assert group == [200] * 5 + [429]  # 5 in a burst, then 1 a minute: retry after 60
    assert others == [200] * 7 + [
        429
    ]  # each chat within its burst: the 13th of all is one too many
    report = limited.flood_report(token)
    assert report["too_many_requests"] == 2
    chats = {
        c["chat_id"]: (c["type"], c["last_minute"], c["too_many_requests"]) for c in report["chats"]
    }
    assert chats[-5] == ("supergroup", 5, 1)


async def test_the_control_route_shows_each_chats_send_rate(
    limited: Emulator, http: aiohttp.ClientSession, token: str
) -> None:
    async with http.post(
        f"{limited.base_url}/sandbox/bots/{token}/chats", json={"chat_ids": [7]}
    ) as r:
        assert r.status == 200
    for _ in range(2):
        await send(http, limited, token, 7)
    async with http.get(f"{limited.base_url}/sandbox/bots/{token}/flood") as response:
        body = await response.json()

    assert body["result"]["limits"]["chat_burst"] == 3
    assert body["result"]["chats"] == [
        {
            "chat_id": 7,
            "type": "private",
            "last_second": 2,
            "last_minute": 2,
            "too_many_requests": 0,
        }
    ]


async def test_without_flood_limits_the_emulator_answers_every_message(
    tg: Emulator, http: aiohttp.ClientSession, token: str
) -> None:
    tg.add_chats(token, [1])
    statuses = [(await send(http, tg, token, 1))[0] for _ in range(20)]
    assert statuses == [200] * 20
    assert tg.flood_report(token) == {"limits": None, "chats": []}


def test_a_sliding_window_refuses_the_burst_a_token_bucket_of_the_same_limit_admits() -> None:
    # 30 a second, 30 at once: the bucket refills half its burst in half a second, the window
    # admits nothing more until a second has passed since the first 30.
    window, bucket = Window(30.0, 30), Bucket(30.0, 30)
    for budget in (window, bucket):
        for _ in range(30):
            assert budget.wait(100.0) == 0.0
            budget.take(100.0)
    assert bucket.wait(100.5) == 0.0
    assert window.wait(100.5) == pytest.approx(0.5)
    assert window.wait(101.0) == 0.0
