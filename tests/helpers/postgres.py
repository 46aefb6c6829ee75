"""A real PostgreSQL server for the tests: Debian's binaries, a temporary folder, a free
loopback port and a password, stopped and removed after. One server per test process (per
xdist worker); each test gets a database of its own on it."""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.helpers.processes import free_port

USER = "bot"
_databases = itertools.count(1)


def find_pg_bin() -> Path:
    """The folder of initdb and pg_ctl (the newest installed), or skip naming the package."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts[-3])
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb is None:
        pytest.skip("PostgreSQL is not installed (Debian package `postgresql`)")
    return Path(initdb).parent


def _as_server_user(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: as root, run them as the `postgres` account.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


class PostgresServer:
    """initdb + pg_ctl start on 127.0.0.1:<free port>; `stop()` removes everything."""

    def __init__(self) -> None:
        self.bin = find_pg_bin()
        self.directory = Path(tempfile.mkdtemp(prefix="pg-test-"))
        self.port = free_port()
        self.password = secrets.token_urlsafe(16)

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def start(self) -> PostgresServer:
        password_file = self.directory / "password"
        password_file.write_text(self.password)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            shutil.chown(password_file, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", USER,
            "--pwfile", str(password_file), "-A", "scram-sha-256", "-E", "UTF8",
            "--locale", "C", "--no-sync",
        )  # fmt: skip
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        self._run(
            str(self.bin / "pg_ctl"), "start", "-D", str(self.data), "-o", options,
            "-l", str(self.directory / "server.log"), "-w", "-t", "60",
        )  # fmt: skip
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w")
        shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        """DATABASE_URL of `database` on this server (with the password)."""
        return f"postgresql+asyncpg://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its DATABASE_URL."""
        name = f"test_{os.getpid()}_{next(_databases)}"
        self._psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def _psql(self, sql: str) -> None:
        subprocess.run(
            [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER,
             "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql],
            env={**os.environ, "PGPASSWORD": self.password},
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            _as_server_user(list(args)), capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            log = self.directory / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}{tail}")
