"""Pollers on several "hosts" (separate LOCK_DIRs) sharing one real Redis: exactly one polls,
a handover loses nothing and handles nothing twice, and two never poll at the same time."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import psutil
import pytest

from bot.exit_codes import ExitCode
from sandbox import ApiCall, Emulator
from tests.helpers.processes import BotProcess, free_port, write_env_file
from tests.helpers.redis import KEY_PREFIX, CuttableLink, RedisServer

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and kill -9"),
    pytest.mark.serial,  # lease expiry in seconds: run after the parallel tests, one at a time
]

StartBot = Callable[..., Awaitable[BotProcess]]
# The thirty pollers' priority (POSIX niceness; 0 is normal, 19 the lowest).
POLLER_NICENESS = 10


@pytest.fixture
def shared_env(polling_env: dict[str, str], redis_server: RedisServer) -> dict[str, str]:
    """A poller's configuration with REDIS_URL and short TTLs (tests cannot wait long)."""
    return {
        **polling_env,
        "REDIS_URL": redis_server.url,
        "POLLING_LEASE_TTL": "2",
        "UPDATE_CLAIM_TTL": "3",
    }


@pytest.fixture
def host(tmp_path: Path, start_bot: StartBot, shared_env: dict[str, str]) -> StartBot:
    """`await host(n, **overrides)`: a poller on "host" n (its own LOCK_DIR)."""

    async def start(number: int, **overrides: str) -> BotProcess:
        lock_dir = str(tmp_path / f"host-{number}")
        return await start_bot({**shared_env, "LOCK_DIR": lock_dir, **overrides})

    return start


def overlaps(calls: list[ApiCall]) -> list[tuple[ApiCall, ApiCall]]:
    """Pairs of getUpdates calls that were open at the same time (two pollers at once)."""
    ordered = sorted(calls, key=lambda call: call.started)
    return [(a, b) for a, b in itertools.pairwise(ordered) if b.started < a.finished]


async def test_one_host_polls_the_other_exits_3_naming_it_and_takes_over_when_it_stops(
    emulator: Emulator, token: str, host: StartBot
) -> None:
    first = await host(1)
    await first.wait_for_line("is polling")
    second = await host(2)
    assert await second.wait() == ExitCode.LOCKED
    refusal = second.output
    assert "holds the polling lease in Redis" in refusal and f"pid {first.pid}" in refusal
    assert "the lease frees itself in" in refusal

    first.send_signal(signal.SIGTERM)
    assert await first.wait() == ExitCode.OK
    third = await host(2)  # the lease was released on stop: no waiting for its TTL
    await third.wait_for_line("is polling")
    emulator.send_text(token, "after the handover")
    await emulator.wait_bot_messages(token, 100, 1)
    assert not overlaps(emulator.api_calls(token, "getUpdates"))


async def test_kill_9_mid_handler_loses_nothing_the_next_host_handles_it_once(
    emulator: Emulator,
    token: str,
    tmp_path: Path,
    shared_env: dict[str, str],
    redis_server: RedisServer,
) -> None:
    def poller(number: int, slow_seconds: str) -> BotProcess:
        values = {
            **shared_env,
            "LOCK_DIR": str(tmp_path / f"host-{number}"),
            "HANDLERS_MODULE": "tests.fixtures.slow_handlers",
            # The dead handler's claim outlives its lease: the next host meets the claim and
            # must hold the offset below the update until the claim expires.
            "UPDATE_CLAIM_TTL": "12",
        }
        env_file = write_env_file(tmp_path / f".env.host{number}", values)
        return BotProcess("--env-file", str(env_file), env={"SLOW_HANDLER_SECONDS": slow_seconds})

    first = await poller(1, "60").start()
    second = poller(2, "0.2")
    redis = redis_server.client()
    try:
        await first.wait_for_line("is polling")
        update = emulator.send_command(token, "/slow")
        await first.wait_for_line("Slow handler started")
        first.send_signal(signal.SIGKILL)
        await first.wait()
        # Nothing ran to release it: the dead poller's lease lasts until its TTL.
        assert await redis.pttl(f"{KEY_PREFIX}:{token.split(':')[0]}:polling-lease") > 0

        await second.start()
        await second.wait_for_lines("is polling", timeout=30)
        reply = f"Slow reply for update {update['update_id']}"
        await emulator.wait_until(
            lambda: any(m["text"] == reply for m in emulator.bot_messages(token, 100)),
            timeout=30,
            what="the interrupted update handled by the next host",
        )
        emulator.send_text(token, "and the next one")
        await emulator.wait_bot_messages(token, 100, 2)
    finally:
        await redis.aclose()
        await first.stop()
        await second.stop()
    texts = [m["text"] for m in emulator.bot_messages(token, 100)]
    assert texts.count(reply) == 1, texts
    assert not overlaps(emulator.api_calls(token, "getUpdates"))


async def test_a_poller_cut_off_from_redis_stops_fetching_before_its_lease_expires(
    emulator: Emulator, token: str, host: StartBot, redis_server: RedisServer
) -> None:
    link = await CuttableLink(redis_server.port).start()
    try:
        first = await host(1, REDIS_URL=link.url())
        await first.wait_for_line("is polling")
        await link.cut()  # host 1 cannot reach Redis; host 2 can
        await first.wait_for_line("fetching stops before it expires", timeout=10)
        # Cut off, it retries calmly: a measured rate, not a wait for something to happen.
        cpu_before = sum(psutil.Process(first.pid).cpu_times()[:2])
        await asyncio.sleep(2)
        assert sum(psutil.Process(first.pid).cpu_times()[:2]) - cpu_before < 0.5
        redis = redis_server.client()
        async with asyncio.timeout(10):
            while await redis.exists(f"{KEY_PREFIX}:{token.split(':')[0]}:polling-lease"):
                await asyncio.sleep(0.1)  # the expiry is Redis's own clock: watched, not waited
        await redis.aclose()
        second = await host(2)
        await second.wait_for_line("is polling")
        emulator.send_text(token, "to the new poller")
        await emulator.wait_bot_messages(token, 100, 1)

        await link.restore()  # host 1 is back, finds its lease taken, and gives up
        assert await first.wait(timeout=20) == ExitCode.LOCKED
        assert "Another poller took this bot's polling lease" in first.output
    finally:
        await link.cut()
    assert not overlaps(emulator.api_calls(token, "getUpdates"))


async def test_thirty_pollers_at_once_one_polls_and_each_message_is_answered_once(
    emulator: Emulator, token: str, host: StartBot
) -> None:
    pollers = await asyncio.gather(*(host(n) for n in range(30)))
    for poller in pollers:
        # Thirty start-ups are a burst of CPU (each imports aiogram): at a lower priority
        # they leave the cores to the tests beside them (other xdist workers), whose short
        # TTLs cannot wait. The race for the lease is the same; this test's budget is 180 s.
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(poller.pid).nice(POLLER_NICENESS)
    chats = range(1000, 1200)  # 200 users writing at once
    for chat in chats:
        emulator.send_text(token, f"message {chat}", chat_id=chat)

    exits = {asyncio.create_task(p.wait(timeout=180)): p for p in pollers}
    finished: set[asyncio.Task[int]] = set()
    try:
        async with asyncio.timeout(180):  # thirty Python start-ups on two cores
            while len(finished) < len(pollers) - 1:  # all but the one that polls
                done, _ = await asyncio.wait(set(exits) - finished, return_when="FIRST_COMPLETED")
                finished |= done
    except TimeoutError:
        running = "\n--\n".join(exits[t].output for t in set(exits) - finished)
        raise AssertionError(f"pollers still running:\n{running}") from None
    for task in set(exits) - finished:
        task.cancel()
    await emulator.wait_until(
        lambda: all(emulator.bot_messages(token, chat) for chat in chats), 60, "200 replies"
    )

    assert sorted(task.result() for task in finished) == [ExitCode.LOCKED] * 29
    (winner,) = (exits[task] for task in set(exits) - finished)
    assert winner.count("is polling") == 1
    replies = {chat: [m["text"] for m in emulator.bot_messages(token, chat)] for chat in chats}
    assert replies == {chat: [f"message {chat}"] for chat in chats}


async def test_unreachable_redis_at_start_exits_2_naming_it_without_its_password(
    host: StartBot,
) -> None:
    closed = f"redis://:hunter2-pw@127.0.0.1:{free_port()}/0"
    process = await host(1, REDIS_URL=closed)
    assert await process.wait() == ExitCode.CONFIG
    assert "cannot be reached" in process.output and ":***@127.0.0.1" in process.output
    assert "hunter2-pw" not in process.output
