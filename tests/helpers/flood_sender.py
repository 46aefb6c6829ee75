"""`python -m tests.helpers.flood_sender FIRST COUNT GO_PORT`: one of the bot's processes
sending COUNT messages to chats FIRST, FIRST+1, ... at once, as its handlers would.

Settings come from the environment (a shared state shares the flood budget). It builds the
bot the way the bot's processes do (`bot.factory`), prints `ready`, waits for a byte on
GO_PORT (so that several senders start together), sends, and prints `sent <n> in <seconds> s`.
"""

from __future__ import annotations

import asyncio
import sys
import time

from bot.factory import create_bot, create_shared_state
from bot.settings import load_settings


async def main(first: int, count: int, go_port: int) -> None:
    settings = load_settings()
    shared = create_shared_state(settings)
    bot = create_bot(settings, shared)
    reader, writer = await asyncio.open_connection("127.0.0.1", go_port)
    print("ready", flush=True)
    await reader.read(1)
    began = time.monotonic()
    try:
        chats = range(first, first + count)
        await asyncio.gather(*(bot.send_message(chat, f"hello {chat}") for chat in chats))
    finally:
        await bot.session.close()
        writer.close()
        if shared is not None:
            await shared.close()
    print(f"sent {count} in {time.monotonic() - began:.2f} s", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*(int(arg) for arg in sys.argv[1:4])))
