"""The production stack for the deploy tests: openssl, nginx and gunicorn as real programs.

Everything lives in a temporary directory: a self-signed certificate, the shipped nginx site
rendered with test ports and paths inside a minimal nginx.conf of its own (pid, logs, temp
paths), gunicorn started with the shipped deploy/gunicorn.conf.py on a unix socket.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.settings import env_names
from sandbox import Emulator
from tests.helpers.constants import DEPLOY_WEBHOOK_PATH, SERVICE, SERVICE_ID
from tests.helpers.processes import ROOT, Program, free_port

DEPLOY = ROOT / "deploy"
SERVER_NAME = f"{SERVICE_ID}.test"


def find_nginx() -> str:
    """The nginx binary, or skip the test naming the Debian package."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        pytest.skip("nginx is not installed (Debian package `nginx`: apt-get install nginx)")
    return found


def require_openssl() -> str:
    found = shutil.which("openssl")
    if found is None:
        pytest.skip("openssl is not installed (Debian package `openssl`)")
    return found


def render(template: Path, **values: str) -> str:
    """Render a deploy template with the same script the README tells people to use."""
    arguments = [f"{name}={value}" for name, value in values.items()]
    result = subprocess.run(
        [sys.executable, str(DEPLOY / "render.py"), str(template), *arguments],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def make_certificate(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1 laid out as certbot does; and a client context
    trusting it (the emulator's `delivery_ssl`)."""
    live = directory / SERVER_NAME
    live.mkdir(parents=True)
    subprocess.run(
        [
            require_openssl(),
            "req", "-x509", "-nodes", "-days", "2",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", str(live / "privkey.pem"),
            "-out", str(live / "fullchain.pem"),
            "-subj", f"/CN={SERVER_NAME}",
            "-addext", f"subjectAltName=IP:127.0.0.1,DNS:{SERVER_NAME}",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(cafile=str(live / "fullchain.pem"))
    return directory, context


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


async def port_accepts(host: str, port: int, timeout: float = 10.0) -> None:
    """Until a TCP connection to host:port succeeds (the program is listening)."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                _, writer = await asyncio.open_connection(host, port)
            except OSError:
                await asyncio.sleep(0.02)  # polling a socket: nothing to wait on but time
                continue
            writer.close()
            return


class Nginx:
    """The shipped site inside a minimal nginx.conf of its own, run in the foreground."""

    def __init__(self, directory: Path, upstream: str, webhook_path: str, cert_dir: Path) -> None:
        self.binary = find_nginx()
        self.directory = directory
        self.https_port = free_port()
        self.http_port = free_port()
        for sub in ("logs", "temp", "acme"):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        second = "[::1]" if ipv6_loopback() else "127.0.0.2"
        site = render(
            DEPLOY / "nginx" / "bot.conf",
            SERVER_NAME=SERVER_NAME,
            UPSTREAM=upstream,
            WEBHOOK_PATH=webhook_path,
            CERT_DIR=str(cert_dir),
            ACME_ROOT=str(directory / "acme"),
            LOG_DIR=str(directory / "logs"),
            HTTP_LISTEN=f"127.0.0.1:{self.http_port}",
            HTTP_LISTEN6=f"{second}:{self.http_port}",
            HTTPS_LISTEN=f"127.0.0.1:{self.https_port}",
            HTTPS_LISTEN6=f"{second}:{self.https_port}",
        )
        (directory / "site.conf").write_text(site)
        temp = directory / "temp"
        # Run as root (in a container), the workers would become `nobody` and could not reach
        # the test's socket and temp files.
        user = "user root;\n" if os.geteuid() == 0 else ""
        (directory / "nginx.conf").write_text(
            f"{user}worker_processes 1;\n"
            f"pid {directory}/nginx.pid;\n"
            f"error_log {directory}/logs/error.log warn;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            f"    client_body_temp_path {temp}/body;\n"
            f"    proxy_temp_path {temp}/proxy;\n"
            f"    fastcgi_temp_path {temp}/fastcgi;\n"
            f"    uwsgi_temp_path {temp}/uwsgi;\n"
            f"    scgi_temp_path {temp}/scgi;\n"
            f"    include {directory}/site.conf;\n"
            "}\n"
        )
        self.program: Program | None = None

    def args(self, *extra: str) -> list[str]:
        return [
            self.binary,
            "-p", f"{self.directory}/",
            "-e", f"{self.directory}/logs/error.log",
            "-c", f"{self.directory}/nginx.conf",
            *extra,
        ]  # fmt: skip

    def check(self) -> subprocess.CompletedProcess[str]:
        """`nginx -t` on this configuration."""
        return subprocess.run(self.args("-t"), capture_output=True, text=True, check=False)

    async def start(self) -> Nginx:
        self.program = await Program(self.args("-g", "daemon off;"), os.environ).start()
        await port_accepts("127.0.0.1", self.https_port)
        return self

    async def stop(self) -> None:
        if self.program is not None:
            await self.program.stop(signal.SIGQUIT)  # graceful: finish open requests

    def access_log(self) -> str:
        path = self.directory / "logs" / f"{SERVICE}.access.log"
        return path.read_text() if path.exists() else ""


def short_socket_dir() -> Path:
    """A directory for a unix socket (paths over ~100 bytes do not fit in sockaddr_un)."""
    return Path(tempfile.mkdtemp(prefix="tgb-"))


def gunicorn_env(values: Mapping[str, str]) -> dict[str, str]:
    """The process environment for gunicorn: the bot's keys only from `values`."""
    inherited = {k: v for k, v in os.environ.items() if k not in env_names()}
    return {**inherited, "PYTHONUNBUFFERED": "1", **values}


def gunicorn(env: Mapping[str, str]) -> Program:
    """gunicorn with the shipped configuration file, as the systemd unit starts it."""
    return Program(
        [
            sys.executable, "-m", "gunicorn",
            "-c", str(DEPLOY / "gunicorn.conf.py"),
            "bot.webhook.app:gunicorn_app",
        ],
        env,
    )  # fmt: skip


WORKER_READY = "Webhook worker"
# gunicorn workers in the deploy tests: two, to show updates reach either.
WORKERS = 2


@dataclass
class Stack:
    """A running emulator and nginx; gunicorn masters are started by the test."""

    tg: Emulator
    token: str
    nginx: Nginx
    env: dict[str, str]
    client_ssl: ssl.SSLContext
    masters: list[Program] = field(default_factory=list)

    @property
    def webhook_url(self) -> str:
        return f"https://127.0.0.1:{self.nginx.https_port}{DEPLOY_WEBHOOK_PATH}"

    async def start_gunicorn(self) -> Program:
        """The shipped gunicorn configuration with 2 workers; returns once both are ready."""
        master = await gunicorn(self.env).start()
        self.masters.append(master)
        await master.wait_for_lines(WORKER_READY, WORKERS, timeout=90)
        return master

    def set_webhook_ok_calls(self) -> int:
        return sum(call.ok for call in self.tg.api_calls(self.token, "setWebhook"))
