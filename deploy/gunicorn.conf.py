"""gunicorn settings for the webhook app (production).

    gunicorn -c deploy/gunicorn.conf.py bot.webhook.app:gunicorn_app

The environment (systemd's EnvironmentFile=.env.production, compose's env_file) configures it:

    GUNICORN_BIND              where to listen: unix:/run/<service>/gunicorn.sock, or 127.0.0.1:8080
                               (the default); nginx proxies to it. Never a public address.
                               Several, comma-separated (a loopback port for Prometheus).
    WEB_CONCURRENCY            worker processes (default 1, because FSM state in memory is not
                               shared by workers; one per CPU core when they share it, below)
    GUNICORN_GRACEFUL_TIMEOUT  seconds a stopping worker gets (default SHUTDOWN_TIMEOUT + 15)
    GUNICORN_ACCESS_LOG        "-" for an access log on stderr (default off: nginx logs requests)
    GUNICORN_PRELOAD           "0": the master does not preload aiogram (default on, see below)
    PROMETHEUS_MULTIPROC_DIR   where workers keep their metrics, so that one scrape of /metrics
                               sums every worker (default: a new temporary folder); emptied
                               when the master starts
    APP_ENV, ENV_FILE          which env file the bot reads (.env.production by default)

The master imports nothing of the bot: it registers the webhook and migrates the database
once, each in a short-lived child process, before any worker starts (`on_starting`), so that
a reload (`kill -HUP`, or `systemctl reload` of the unit) makes the new workers import the new
code. Workers never touch the webhook or the schema.

What the master does import, once, is the libraries every worker imports (aiogram with its Bot
API models, aiohttp, pydantic): seconds of CPU that each forked worker then finds done, so a
reload or a replaced worker serves again in a fraction of a second. Only imports: no event
loop, thread, socket or connection exists in the master before it forks. Upgrading those
libraries therefore needs a restart of the service, not a reload (docs/deploy.md).
`GUNICORN_PRELOAD=0` switches it off (every worker imports everything itself).
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The aiohttp worker on uvloop: with the plain asyncio worker one of two workers took all the
# requests here (measured); uvloop's accept loop spreads them evenly.
if importlib.util.find_spec("uvloop") is not None:
    worker_class = "aiohttp.GunicornUVLoopWebWorker"
else:
    worker_class = "aiohttp.GunicornWebWorker"

# Several addresses, comma-separated: e.g. the socket for nginx plus 127.0.0.1:9108 for a
# Prometheus on this host (it scrapes TCP only; docs/monitoring.md).
bind = [part.strip() for part in os.environ.get("GUNICORN_BIND", "127.0.0.1:8080").split(",")]
# Only nginx on this machine may write to the socket.
umask = 0o007
# FSM state (the step a conversation is at) lives in a worker's memory unless the workers share
# it: with several workers and nothing shared, a user's next message may reach a worker that
# does not know the conversation. So the default is one worker, unless the state is shared.
_shared = False
_one_worker_fix = "Set WEB_CONCURRENCY=1."
# copier: if redis
# REDIS_URL shares it (bot/runtime/shared/redis/state.py): then one worker per core.
_shared = bool(os.environ.get("REDIS_URL"))
_one_worker_fix = "Set REDIS_URL, or WEB_CONCURRENCY=1."
# copier: endif
workers = int(os.environ.get("WEB_CONCURRENCY") or (len(os.sched_getaffinity(0)) if _shared else 1))
chdir = str(PROJECT_ROOT)  # the project's `bot` and `handlers` packages are imported from here

# A stopping worker drains: in-flight updates get SHUTDOWN_TIMEOUT seconds, then the bot
# session closes. gunicorn kills a worker after graceful_timeout, so keep it longer. The master
# does not import the bot (see on_starting), so 30 repeats SHUTDOWN_TIMEOUT's default; a test
# holds the two equal.
_shutdown_timeout = float(os.environ.get("SHUTDOWN_TIMEOUT") or 30)
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or _shutdown_timeout + 15)
timeout = 30  # a worker that stops heartbeating this long is restarted
keepalive = 5

accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
# aiohttp's format: no request headers at all, so the secret header never reaches a log.
access_log_format = '%a "%r" %s %b %Tf'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# gunicorn >= 25 opens a control socket in $HOME by default; systemd manages this service.
control_socket_disable = True
# The project's name, from pyproject.toml (as bot/settings/fields.py reads it): `ps` shows it.
_pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
proc_name = _pyproject["project"]["name"]


def on_starting(server: object) -> None:
    """Once per start of the master (not per worker, not on reload), before any worker:
    register the webhook, then migrate the database."""
    if workers > 1 and not _shared:
        print(
            f"Warning: {workers} workers that share no state: each keeps its own FSM state, so "
            "a conversation can lose its step when a message reaches another worker. "
            + _one_worker_fix,
            file=sys.stderr,
        )
    # The bot's settings size the database pool from it, and refuse SQLite with several.
    os.environ["GUNICORN_WORKERS"] = str(workers)
    env = {**os.environ, "GUNICORN_GRACEFUL_TIMEOUT": str(graceful_timeout)}
    env.pop(METRICS_DIR, None)  # the registration's own calls are not a worker's metrics
    # The registration checks the configuration first, in well under a second.
    _run_before_workers(["-m", "bot.webhook"], env, "Webhook registration")
    # copier: if database
    # Then the schema the new workers' code expects (Telegram's deliveries meanwhile wait for
    # the workers, and are retried). `db upgrade` takes a lock in PostgreSQL, so hosts
    # starting at once migrate one after the other.
    settings_file = ["--env-file", env["ENV_FILE"]] if env.get("ENV_FILE") else []
    production = ["--env", env.get("APP_ENV") or "production", *settings_file]
    _run_before_workers(["-m", "bot", "db", "upgrade", *production], env, "Database migration")
    # copier: endif
    _empty_metrics_dir()
    _preload_libraries()


def _run_before_workers(args: list[str], env: dict[str, str], what: str) -> None:
    """Run a start-up step in a child process; the master stops with its exit code if it fails."""
    try:
        result = subprocess.run(
            [sys.executable, *args],
            cwd=PROJECT_ROOT,
            env=env,
            timeout=300,  # a few 429 retry_after waits, or a long migration, at most
            check=False,
        )
    except subprocess.TimeoutExpired:
        print(f"{what} did not finish in 300 s; not starting.", file=sys.stderr)
        sys.exit(1)
    if result.returncode != 0:
        # 2: invalid configuration or a token/URL Telegram rejects. systemd does not restart
        # on it (RestartPreventExitStatus), a restart would not fix it.
        print(f"{what} failed (exit code {result.returncode}); not starting.", file=sys.stderr)
        sys.exit(result.returncode)


# The libraries the workers share, imported by the master before it forks them. Not the bot's
# own code (bot/, handlers/): a reload must load their new version. Not prometheus-client:
# it must first see PROMETHEUS_MULTIPROC_DIR, set above.
PRELOADED = (
    "aiohttp.web",
    "aiogram.types",
    "aiogram.methods",
    "aiogram.client.session.aiohttp",
    "aiogram.fsm.storage.memory",
    "pydantic_settings",
)


def _preload_libraries() -> None:
    """Import PRELOADED once in the master (see the module docstring), unless switched off."""
    if os.environ.get("GUNICORN_PRELOAD", "1") == "0":
        return
    import gc
    import importlib

    for name in PRELOADED:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()  # the workers' full collections skip these; their pages stay shared


# prometheus-client's multiprocess mode: each worker writes its metrics to files in this
# folder, and /metrics on any worker reads them all. The variable must be set before a worker
# imports prometheus-client, so the master sets it (it never imports the client itself, except
# in child_exit below).
METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# The folder made when none is given (a reload re-reads this file, so the name marks it).
_OWN_METRICS_DIR = "telegram-bot-metrics-"


def _empty_metrics_dir() -> None:
    """Once per start of the master (not on a reload, which keeps the counters of the workers
    it replaces): stale files of an earlier run would be added to this one's."""
    if os.environ.get(METRICS_DIR):
        path = Path(os.environ[METRICS_DIR])
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
    else:
        path = Path(tempfile.mkdtemp(prefix=_OWN_METRICS_DIR))
    os.environ[METRICS_DIR] = str(path)


def child_exit(server: object, worker: object) -> None:
    """A worker ended: its gauges (updates in flight, start time) stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def on_exit(server: object) -> None:
    """Remove the metrics folder the master made for itself."""
    path = Path(os.environ.get(METRICS_DIR, ""))
    if path.name.startswith(_OWN_METRICS_DIR) and path.parent == Path(tempfile.gettempdir()):
        shutil.rmtree(path, ignore_errors=True)
