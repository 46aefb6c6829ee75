"""With REDIS_URL, every process of the bot sends from one flood budget: two processes
together stay under Telegram's global limit."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable

from sandbox import Emulator
from tests.helpers.flood import (
    TELEGRAM,
    bot_limits,
    delivered,
    most_in_one_window,
    sends,
    span,
    too_many_requests,
)
from tests.helpers.processes import ROOT, Program
from tests.helpers.redis import RedisServer

StartEmulator = Callable[[float], Awaitable[Emulator]]


async def test_two_processes_sharing_one_redis_together_stay_under_the_global_limit(
    limited_emulator: StartEmulator, token: str, redis_server: RedisServer
) -> None:
    # Telegram's own limits (~10 s): a faster scale would shrink the windows, not the jitter.
    scale, per_process = 1, 150
    tg = await limited_emulator(scale)
    tg.add_chats(token, list(range(1, 2 * per_process + 1)))
    go = asyncio.Event()
    connected: list[asyncio.StreamWriter] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.append(writer)
        await go.wait()
        writer.write(b"!")
        await writer.drain()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    env = {
        **os.environ,
        "BOT_TOKEN": token,
        "TELEGRAM_API_URL": tg.base_url,
        "REDIS_URL": redis_server.url,
        **bot_limits(scale),
    }
    senders = [
        Program(
            [
                sys.executable,
                "-m",
                "tests.helpers.flood_sender",
                str(first),
                str(per_process),
                str(port),
            ],
            env,
            cwd=ROOT,
        )
        for first in (1, per_process + 1)
    ]
    try:
        for sender in senders:
            await sender.start()
        for sender in senders:
            await sender.wait_for_lines("ready", timeout=90)
        go.set()
        for sender in senders:
            assert await sender.wait(timeout=90) == 0, sender.output
    finally:
        for sender in senders:
            await sender.stop()
        server.close()
        await server.wait_closed()

    assert len(delivered(tg, token)) == 2 * per_process
    # Under a sliding window too; a loaded machine's stalls may cost a 429 or two.
    assert too_many_requests(tg, token) <= 2
    limits = TELEGRAM.scaled(scale)
    # One budget: together they took as long as one bot sending everything ...
    allowed = (2 * per_process - limits.global_burst) / limits.global_per_second
    assert span(sends(tg, token)) >= allowed * 0.95
    # ... and no second held more than the global limit allows.
    arrivals = [c.started for c in sends(tg, token)]
    assert most_in_one_window(arrivals, 1.0) <= limits.global_per_second + limits.global_burst
