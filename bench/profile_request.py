"""Where the template's webhook request spends its time.

    python -m bench.profile_request              # per-stage costs, in-process (~20 s)
    python -m bench.profile_request --server 10  # plus pyinstrument of the app under wrk

Stages are timed one by one on the template's own objects (BotRuntime,
the webhook handler's validation call) so the numbers say what to work on; `--server` runs the
template's app in this process with a sampling profiler while wrk loads it (needs
`pip install pyinstrument`), replies going to the stub Bot API.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Update

from bench.apps import BENCH_TOKEN, WEBHOOK_PATH, template_app
from bench.load import run_wrk
from bench.processes import ServiceProcess, free_port
from bench.stub_api import _MESSAGE

SECRET = "bench-secret-0123456789"


def update_body(update_id: int) -> bytes:
    """The same update the wrk script sends."""
    user = 100000 + update_id % 1000
    return json.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 1700000000,
                "chat": {"id": user, "type": "private", "first_name": "Bench"},
                "from": {"id": user, "is_bot": False, "first_name": "Bench", "language_code": "en"},
                "text": "hello from the benchmark",
            },
        },
        separators=(",", ":"),
    ).encode()


class InstantSession(BaseSession):
    """A Bot API session without the network: every call gets a canned sendMessage result,
    parsed like a real response. Separates routing and handler cost from the HTTP client."""

    _content = json.dumps({"ok": True, "result": _MESSAGE})

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        response = self.check_response(bot, method, status_code=200, content=self._content)
        return response.result  # type: ignore[return-value]

    def stream_content(self, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError("the benchmark's handlers download nothing")

    async def close(self) -> None:
        return None


async def per_call_us(call: Callable[[int], Awaitable[object]], count: int) -> float:
    """Mean microseconds of `call(i)` over `count` calls, after a warm-up of a tenth."""
    for i in range(count // 10):
        await call(10_000_000 + i)
    gc.collect()
    started = time.perf_counter()
    for i in range(count):
        await call(i)
    return (time.perf_counter() - started) * 1e6 / count


async def stage_costs(api_url: str, count: int) -> list[tuple[str, float]]:
    from bench.apps import template_environment
    from bot.logs import RedactingFormatter
    from bot.owner import BotRuntime
    from bot.runtime.updates.dedup import MemoryDeduplicator
    from bot.settings import load_settings

    settings = load_settings(
        env_file=_empty_env_file(), environment=False,
        overrides=template_environment(api_url, SECRET, "127.0.0.1", 8080),
    )  # fmt: skip
    bodies = [update_body(i) for i in range(count)] + [
        update_body(10_000_000 + i) for i in range(count)
    ]
    real_bot = Bot(BENCH_TOKEN, session=_stub_session(api_url))
    instant_bot = Bot(BENCH_TOKEN, session=InstantSession())
    context = {"bot": instant_bot}

    async def json_loads(i: int) -> object:
        return json.loads(bodies[i % len(bodies)])

    async def validate_json(i: int) -> object:
        return Update.model_validate_json(bodies[i % len(bodies)], context=context)

    data = [json.loads(b) for b in bodies]

    async def validate_dict(i: int) -> object:
        return Update.model_validate(data[i % len(data)], context=context)

    dedup = MemoryDeduplicator()

    async def claim(i: int) -> object:
        return await dedup.claim(i)

    updates = [Update.model_validate_json(b, context={"bot": real_bot}) for b in bodies]
    instant_updates = [Update.model_validate_json(b, context=context) for b in bodies]
    # Two runtimes in one process: each owns its own dispatcher (and closes its parts).
    runtime_a, runtime_b = BotRuntime(settings), BotRuntime(settings)
    dispatcher_a, dispatcher_b = runtime_a.dispatcher, runtime_b.dispatcher

    async def feed_instant(i: int) -> object:
        return await dispatcher_a.feed_update(instant_bot, instant_updates[i % len(updates)])

    async def feed_real(i: int) -> object:
        return await dispatcher_b.feed_update(real_bot, updates[i % len(updates)])

    async def send_real(i: int) -> object:
        return await real_bot.send_message(100000 + i % 1000, "hello from the benchmark")

    handler = logging.StreamHandler(open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the run
    handler.setFormatter(RedactingFormatter(settings.secrets()))
    log = logging.getLogger("bench.profile")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)

    async def log_line(i: int) -> object:
        log.info("Update id=%d is handled. Duration %d ms by bot id=%d", i, 3, 123456789)
        return None

    stages = [
        ("json.loads(body)", json_loads),
        ("Update.model_validate_json(body) (template)", validate_json),
        ("Update.model_validate(dict) (aiogram, after json.loads)", validate_dict),
        ("MemoryDeduplicator.claim", claim),
        ("dispatcher.feed_update, Bot API call without network", feed_instant),
        ("bot.send_message to the stub over HTTP (aiohttp client)", send_real),
        ("dispatcher.feed_update, reply to the stub over HTTP", feed_real),
        ("one INFO log line (RedactingFormatter, to /dev/null)", log_line),
    ]
    async with runtime_a, runtime_b:
        results = [(name, await per_call_us(call, count)) for name, call in stages]
    await real_bot.session.close()
    return results


def _stub_session(api_url: str) -> BaseSession:
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    return AiohttpSession(api=TelegramAPIServer.from_base(api_url))


def _empty_env_file() -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="bench-env-")) / ".env.bench"
    path.touch()
    return path


async def profile_server(api_url: str, seconds: float, connections: int, out: Path) -> str:
    """The template's app in this process under pyinstrument while wrk posts updates."""
    from aiohttp import web
    from pyinstrument import Profiler

    port = free_port()
    app = template_app(api_url, SECRET, "127.0.0.1", port)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    loop = asyncio.get_running_loop()
    url = f"http://127.0.0.1:{port}"
    await loop.run_in_executor(None, run_wrk, url, WEBHOOK_PATH, SECRET, connections, 2, 1_000_000)
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    load = await loop.run_in_executor(
        None, run_wrk, url, WEBHOOK_PATH, SECRET, connections, seconds, 100_000_000
    )
    profiler.stop()
    await runner.cleanup()
    out.write_text(profiler.output_html())
    summary = f"{load.ok_per_second:,.0f} req/s under the profiler, {load.errors} errors"
    return summary + "\n" + profiler.output_text(unicode=False, color=False, show_all=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=3000, help="calls per stage")
    parser.add_argument("--server", type=float, default=0, help="seconds of profiled load")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--html", type=Path, default=Path("/tmp/bench-profile.html"))
    args = parser.parse_args()

    stub_port = free_port()
    api_url = f"http://127.0.0.1:{stub_port}"
    stub = ServiceProcess(
        "stub Bot API",
        [sys.executable, "-m", "bench.stub_api", "--port", str(stub_port)],
        Path(f"/tmp/bench-profile-stub-{stub_port}.log"),
    )
    try:
        stub.start().wait_listening(stub_port, timeout=30)
        import uvloop

        results = uvloop.run(stage_costs(api_url, args.count))
        print("Per-stage cost of the template's request path (mean of", args.count, "calls):")
        for name, micros in results:
            print(f"  {micros:8.1f} us  {name}")
        if args.server:
            print(uvloop.run(profile_server(api_url, args.server, args.connections, args.html)))
            print(f"HTML profile: {args.html}")
    finally:
        stub.stop()


if __name__ == "__main__":
    main()
