"""getUpdates: long polling, offsets, limits and the two 409 Conflicts, with their exact texts."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramConflictError

from sandbox import Emulator
from tests.helpers.emulator import call, make_bot

TERMINATED = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)


async def parked(tg: Emulator, token: str) -> None:
    await tg.wait_until(lambda: tg.bot(token).long_poll_parked, 5, "a parked getUpdates")


async def test_long_poll_waits_and_wakes_when_an_update_arrives(
    bot: Bot, tg: Emulator, token: str
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await parked(tg, token)
    assert not poll.done()
    started = time.monotonic()
    update = tg.send_text(token, "hello")
    [got] = await asyncio.wait_for(poll, 5)
    assert got.update_id == update["update_id"] and got.message and got.message.text == "hello"
    assert time.monotonic() - started < 2


async def test_long_poll_returns_empty_after_its_timeout(
    bot: Bot, tg: Emulator, token: str
) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 3


async def test_negative_timeout_is_clamped_to_zero(
    tg: Emulator, http: aiohttp.ClientSession, token: str
) -> None:
    started = time.monotonic()
    assert await call(http, tg, token, "getUpdates", timeout=-5) == (
        200,
        {"ok": True, "result": []},
    )
    assert time.monotonic() - started < 1


async def test_offset_confirms_every_update_below_it(bot: Bot, tg: Emulator, token: str) -> None:
    ids = [tg.send_text(token, f"m{i}")["update_id"] for i in range(3)]
    assert [u.update_id for u in await bot.get_updates()] == ids  # not confirmed by reading
    assert [u.update_id for u in await bot.get_updates()] == ids
    assert [u.update_id for u in await bot.get_updates(offset=ids[1])] == ids[1:]
    assert [u["update_id"] for u in tg.pending_updates(token)] == ids[1:]
    assert await bot.get_updates(offset=ids[-1] + 1) == []
    assert tg.pending_updates(token) == []


async def test_negative_offset_keeps_only_the_last_updates(
    bot: Bot, tg: Emulator, token: str
) -> None:
    ids = [tg.send_text(token, f"m{i}")["update_id"] for i in range(4)]
    assert [u.update_id for u in await bot.get_updates(offset=-2)] == ids[2:]
    assert [u["update_id"] for u in tg.pending_updates(token)] == ids[2:]


@pytest.mark.parametrize(("limit", "expected"), [(0, 1), (-3, 1), (2, 2), (1000, 100)])
async def test_limit_is_clamped_to_1_100(
    tg: Emulator, http: aiohttp.ClientSession, token: str, limit: int, expected: int
) -> None:
    for i in range(105):
        tg.send_text(token, f"m{i}", chat_id=100 + i)
    status, body = await call(http, tg, token, "getUpdates", limit=limit)
    assert (status, len(body["result"])) == (200, expected)


async def test_newest_get_updates_wins_and_the_older_gets_409(tg: Emulator, token: str) -> None:
    first, second = make_bot(tg, token), make_bot(tg, token)
    try:
        older = asyncio.create_task(first.get_updates(timeout=30))
        await parked(tg, token)
        newer = asyncio.create_task(second.get_updates(timeout=30))
        with pytest.raises(TelegramConflictError) as conflict:
            await asyncio.wait_for(older, 5)
        assert conflict.value.message == TERMINATED
        await parked(tg, token)
        tg.send_text(token, "for the newest")
        [update] = await asyncio.wait_for(newer, 5)
        assert update.message and update.message.text == "for the newest"
    finally:
        await first.session.close()
        await second.session.close()


async def test_a_poll_answered_at_once_does_not_terminate_the_parked_one(
    tg: Emulator, http: aiohttp.ClientSession, token: str
) -> None:
    # Like the Bot API server: only a request that itself parks terminates the parked one.
    parked_poll = asyncio.create_task(call(http, tg, token, "getUpdates", timeout=30))
    await parked(tg, token)
    assert await call(http, tg, token, "getUpdates", timeout=0) == (200, {"ok": True, "result": []})
    assert not parked_poll.done()
    tg.send_text(token, "x")
    status, body = await asyncio.wait_for(parked_poll, 5)
    assert status == 200 and len(body["result"]) == 1


async def test_get_updates_while_a_webhook_is_set_is_409(
    tg: Emulator, http: aiohttp.ClientSession, bot: Bot, token: str
) -> None:
    tg.set_webhook_directly(token, "http://127.0.0.1:9/hook")
    with pytest.raises(TelegramConflictError) as conflict:
        await bot.get_updates()
    assert conflict.value.message == WEBHOOK_ACTIVE
    status, body = await call(http, tg, token, "getUpdates")
    assert (status, body) == (409, {"ok": False, "error_code": 409, "description": WEBHOOK_ACTIVE})


async def test_set_webhook_terminates_a_parked_poll(
    tg: Emulator, http: aiohttp.ClientSession, token: str
) -> None:
    poll = asyncio.create_task(call(http, tg, token, "getUpdates", timeout=30))
    await parked(tg, token)
    await call(http, tg, token, "setWebhook", url="http://127.0.0.1:9/hook")
    status, body = await asyncio.wait_for(poll, 5)
    assert (status, body["description"]) == (409, "Conflict: terminated by setWebhook request")


async def test_allowed_updates_are_remembered_and_filter_what_is_queued(
    tg: Emulator, http: aiohttp.ClientSession, token: str, bot: Bot
) -> None:
    await bot.get_updates(allowed_updates=["callback_query"])
    tg.send_text(token, "not wanted")
    await bot.get_updates()  # no allowed_updates: the previous choice stays
    tg.send_text(token, "still not wanted")
    assert tg.pending_updates(token) == []
    await call(http, tg, token, "getUpdates", allowed_updates=[])  # [] = Telegram's default set
    tg.send_text(token, "wanted")
    assert len(tg.pending_updates(token)) == 1


async def test_deleting_the_webhook_hands_pending_updates_to_get_updates(
    tg: Emulator, bot: Bot, token: str
) -> None:
    tg.set_webhook_directly(token, "http://127.0.0.1:9/hook")
    tg.pause_delivery(token)
    update = tg.send_text(token, "kept")
    assert await bot.delete_webhook() is True
    assert [u.update_id for u in await bot.get_updates()] == [update["update_id"]]
    tg.set_webhook_directly(token, "http://127.0.0.1:9/hook")
    assert await bot.delete_webhook(drop_pending_updates=True) is True
    assert await bot.get_updates() == []
