"""Two "hosts" (two gunicorn masters with their own LOCK_DIR) behind the shipped nginx site,
one Redis: a conversation continues wherever its next message lands, and a worker killed
mid-handler loses its update to nobody."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox import Emulator
from tests.helpers.constants import DEPLOY_WEBHOOK_PATH, SECRET
from tests.helpers.processes import Program
from tests.helpers.redis import RedisServer
from tests.helpers.stack import (
    WORKER_READY,
    Nginx,
    find_nginx,
    gunicorn,
    gunicorn_env,
    make_certificate,
    short_socket_dir,
)

HOSTS = 2


@dataclass
class TwoHosts:
    tg: Emulator
    token: str
    masters: list[Program]
    gate: Path  # /slow handlers wait while it exists


@pytest.fixture
async def two_hosts(
    tmp_path: Path, token: str, redis_server: RedisServer, request: pytest.FixtureRequest
) -> AsyncIterator[TwoHosts]:
    find_nginx()
    cert_dir, client_ssl = make_certificate(tmp_path / "certs")
    sockets = short_socket_dir()
    # Several upstreams: the site's UPSTREAM takes them as `a; server b` (see docs/deploy.md).
    upstream = "; server ".join(f"unix:{sockets}/host{n}.sock" for n in range(HOSTS))
    nginx = Nginx(tmp_path / "nginx", upstream, DEPLOY_WEBHOOK_PATH, cert_dir)
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    gate = tmp_path / "slow-handlers-wait"
    gate.touch()
    masters: list[Program] = []
    database: dict[str, str] = {}
    # copier: if database
    # Two hosts: one PostgreSQL (SQLite would be refused), migrated once by the first master.
    database["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    # copier: endif
    async with Emulator(
        delivery_ssl=client_ssl, retry_first_delay=0.05, retry_max_delay=0.5, webhook_timeout=20
    ) as tg:
        await nginx.start()
        try:
            for n in range(HOSTS):
                values = {
                    "BOT_TOKEN": token,
                    "APP_ENV": "production",
                    "ENV_FILE": str(env_file),
                    "TELEGRAM_API_URL": tg.base_url,
                    "WEBHOOK_BASE_URL": f"https://127.0.0.1:{nginx.https_port}",
                    "WEBHOOK_PATH": DEPLOY_WEBHOOK_PATH,
                    "WEBHOOK_SECRET": SECRET,
                    "LOCK_DIR": str(tmp_path / f"host{n}"),
                    "GUNICORN_BIND": f"unix:{sockets}/host{n}.sock",
                    "WEB_CONCURRENCY": "1",
                    "REDIS_URL": redis_server.url,
                    "UPDATE_CLAIM_TTL": "3",
                    "SHUTDOWN_TIMEOUT": "5",
                    "HANDLERS_MODULE": "tests.fixtures.slow_handlers",
                    "SLOW_HANDLER_GATE": str(gate),
                    **database,
                }
                masters.append(await gunicorn(gunicorn_env(values)).start())
            for master in masters:
                await master.wait_for_lines(WORKER_READY, 1, timeout=90)
            yield TwoHosts(tg, token, masters, gate)
        finally:
            for master in masters:
                await master.stop()
            await nginx.stop()
            shutil.rmtree(sockets, ignore_errors=True)


async def test_two_hosts_behind_nginx_behave_as_one_bot(two_hosts: TwoHosts) -> None:
    # Both parts share one start of the two hosts: it takes most of the test's time.
    await a_conversation_continues_on_whichever_host_its_next_message_reaches(two_hosts)
    await a_worker_killed_mid_handler_has_its_update_handled_once_elsewhere(two_hosts)


async def a_conversation_continues_on_whichever_host_its_next_message_reaches(
    two_hosts: TwoHosts,
) -> None:
    tg, token = two_hosts.tg, two_hosts.token
    for text in ("/ask", "Ada", "36"):
        tg.send_text(token, text, chat_id=901)
        await tg.wait_until(lambda: not tg.pending_updates(token), 20, f"{text!r} handled")
    replies = [m["text"] for m in tg.bot_messages(token, 901)]
    assert replies[-1] == "Nice to meet you, Ada, aged 36.", replies
    # Both hosts took part: nginx spread the three updates over the two upstreams.
    handled = {d.update_id for d in tg.deliveries(token) if d.acknowledged}
    assert len(handled) == 3


async def a_worker_killed_mid_handler_has_its_update_handled_once_elsewhere(
    two_hosts: TwoHosts,
) -> None:
    tg, token = two_hosts.tg, two_hosts.token
    update = tg.send_command(token, "/slow", chat_id=902)
    started = await _first_line(two_hosts, f"Slow handler started for update {update['update_id']}")
    killed = int(started.rsplit(" ", 1)[1])
    os.kill(killed, signal.SIGKILL)  # no clean-up: its claim stays until UPDATE_CLAIM_TTL
    two_hosts.gate.unlink()  # the handler that runs next finishes at once

    # Telegram retries: 503 while the dead worker's claim lasts, then handled once.
    reply = f"Slow reply for update {update['update_id']}"
    await tg.wait_until(
        lambda: any(m["text"] == reply for m in tg.bot_messages(token, 902)),
        timeout=60,
        what="the update handled after the kill",
    )
    assert [m["text"] for m in tg.bot_messages(token, 902)].count(reply) == 1
    assert 503 in {d.status for d in tg.deliveries(token)}


async def _first_line(hosts: TwoHosts, needle: str) -> str:
    """The first output line of any master containing `needle`."""
    waits = [asyncio.create_task(m.wait_for_lines(needle, timeout=30)) for m in hosts.masters]
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    for task in done:
        task.result()
    return next(line for m in hosts.masters for line in m.lines if needle in line)
