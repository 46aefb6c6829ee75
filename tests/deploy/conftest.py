"""The production stack of the deploy tests: emulator -> HTTPS -> nginx -> gunicorn -> handlers."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox import Emulator
from tests.helpers.constants import DEPLOY_WEBHOOK_PATH, SECRET
from tests.helpers.stack import (
    WORKERS,
    Nginx,
    Stack,
    find_nginx,
    gunicorn_env,
    make_certificate,
    short_socket_dir,
)


@pytest.fixture
async def stack(tmp_path: Path, token: str, request: pytest.FixtureRequest) -> AsyncIterator[Stack]:
    find_nginx()
    cert_dir, client_ssl = make_certificate(tmp_path / "certs")
    socket_dir = short_socket_dir()
    nginx = Nginx(
        tmp_path / "nginx", f"unix:{socket_dir}/gunicorn.sock", DEPLOY_WEBHOOK_PATH, cert_dir
    )
    checked = nginx.check()
    assert checked.returncode == 0, checked.stderr
    env_file = tmp_path / "empty.env"  # keeps a developer's own .env.production out
    env_file.write_text("")
    async with Emulator(
        delivery_ssl=client_ssl, retry_first_delay=0.05, retry_max_delay=0.5, webhook_timeout=20
    ) as tg:
        await nginx.start()
        database: dict[str, str] = {}
        # copier: if database
        # Two workers: SQLite would be refused, so a PostgreSQL database of the test's own.
        database["DATABASE_URL"] = request.getfixturevalue("postgres_url")
        # copier: endif
        env = gunicorn_env(
            {
                **database,
                "BOT_TOKEN": token,
                "APP_ENV": "production",
                "ENV_FILE": str(env_file),
                "TELEGRAM_API_URL": tg.base_url,
                "WEBHOOK_BASE_URL": f"https://127.0.0.1:{nginx.https_port}",
                "WEBHOOK_PATH": DEPLOY_WEBHOOK_PATH,
                "WEBHOOK_SECRET": SECRET,
                "LOCK_DIR": str(tmp_path / "state"),
                "SHUTDOWN_TIMEOUT": "10",
                "GUNICORN_BIND": f"unix:{socket_dir}/gunicorn.sock",
                "WEB_CONCURRENCY": str(WORKERS),
                "HANDLERS_MODULE": "tests.fixtures.slow_handlers",
                "SLOW_HANDLER_SECONDS": "1",
            }
        )
        running = Stack(tg, token, nginx, env, client_ssl)
        try:
            yield running
        finally:
            for master in running.masters:
                await master.stop()
            await nginx.stop()
            shutil.rmtree(socket_dir, ignore_errors=True)
