"""Gunicorn with 1 and then 2 workers, end to end: wrk -> gunicorn -> handlers -> stub Bot API.

Uses the shipped deploy/gunicorn.conf.py when it exists (its worker class, its hooks), with
the bind address and the worker count given on the command line (gunicorn lets flags
override the file). Without it: the same uvloop aiohttp worker by flags.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.apps import BENCH_TOKEN, WEBHOOK_PATH, template_environment
from bench.load import UpdateIds, run_wrk
from bench.processes import (
    ROOT,
    CpuMeter,
    ProcessFailed,
    ServiceProcess,
    child_pids,
    cpu_seconds,
    free_port,
    rss_kib,
)
from bench.report import ScaleoutResult
from bench.stub_api import settled_replies

GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
TEMPLATE_APP = ROOT / "bot" / "webhook" / "app.py"
FALLBACK_WORKER_CLASS = "aiohttp.GunicornUVLoopWebWorker"
# A worker is booted once it uses less than IDLE_CPU_S of CPU in IDLE_WINDOW_S without load.
IDLE_CPU_S = 0.05
IDLE_WINDOW_S = 1.0
MAX_BOOT_S = 120.0
REDIS_MISSING = (
    "redis-server is not installed: install the Debian package `redis-server` "
    "(apt-get install redis-server), or run without --redis."
)


def gunicorn_argv(target: str, port: int, workers: int) -> list[str]:
    argv = [sys.executable, "-m", "gunicorn", target]
    if GUNICORN_CONF.is_file():
        argv += ["--config", str(GUNICORN_CONF)]
    else:
        argv += ["--worker-class", FALLBACK_WORKER_CLASS, "--graceful-timeout", "10"]
    return [*argv, "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]


def scaleout_app(
    api_url: str, secret: str, port: int, workdir: Path, redis_url: str | None = None
) -> tuple[str, str, dict[str, str]]:
    """(label, gunicorn target, environment): the template's app once it exists, until then
    aiogram's plain app so that the harness itself can be checked. With `redis_url`, the
    template's FSM storage, isolation and update record are on Redis."""
    if TEMPLATE_APP.is_file():
        env = template_environment(api_url, secret, "127.0.0.1", port)
        if redis_url is not None:
            env["REDIS_URL"] = redis_url
            # Each measurement starts from an empty keyspace of its own.
            env["REDIS_KEY_PREFIX"] = f"bench-{port}"
        # An empty env file: a developer's own .env.production must not change the result.
        empty_env_file = workdir / ".env.bench"
        empty_env_file.touch()
        env["ENV_FILE"] = str(empty_env_file)
        label = "template+redis" if redis_url is not None else "template"
        return label, "bot.webhook.app:gunicorn_app", env
    env = {"BENCH_API_URL": api_url, "BENCH_SECRET": secret, "BOT_TOKEN": BENCH_TOKEN}
    return "aiogram-quiet", "bench.apps:aiogram_gunicorn_app", env


def run_scaleout(
    stub: ServiceProcess,
    api_url: str,
    secret: str,
    workdir: Path,
    ids: UpdateIds,
    duration_s: float,
    warmup_s: float,
    connections: int = 64,
    worker_counts: Sequence[int] = (1, 2),
    progress: Callable[[str], None] = print,
    redis_url: str | None = None,
) -> list[ScaleoutResult]:
    """One measured wrk run per worker count, after every worker booted and a warm-up."""
    results = []
    for workers in worker_counts:
        port = free_port()
        label, target, env = scaleout_app(api_url, secret, port, workdir, redis_url)
        argv = gunicorn_argv(target, port, workers)
        progress(f"scale-out: {label} under gunicorn, {workers} worker(s): {' '.join(argv[1:])}")
        master = ServiceProcess(
            f"gunicorn {workers}w", argv, workdir / f"gunicorn-{workers}w.log", env
        )
        try:
            master.start()
            master.wait_listening(port, timeout=120)
            url = f"http://127.0.0.1:{port}"
            pids = _wait_until_booted(master, workers)
            if warmup_s > 0:
                run_wrk(url, WEBHOOK_PATH, secret, connections, warmup_s, ids.take())
            before = settled_replies(api_url)
            with CpuMeter(pids, [stub.pid, master.pid]) as cpu:
                load = run_wrk(url, WEBHOOK_PATH, secret, connections, duration_s, ids.take())
                replies = settled_replies(api_url) - before
            rss = tuple(rss_kib(pid) for pid in pids)
            master.check_alive()
        finally:
            master.stop(timeout=60)
        total_cpu = sum(cpu.measured_cpu_s) or 1.0
        results.append(
            ScaleoutResult(
                app=label,
                workers=workers,
                load=load,
                replies=replies,
                worker_cpu_share=tuple(used / total_cpu for used in cpu.measured_cpu_s),
                worker_rss_kib=rss,
                workers_cpu_s=sum(cpu.measured_cpu_s),
                other_cores=cpu.other_cores,
            )
        )
    return results


def _wait_until_booted(master: ServiceProcess, workers: int) -> list[int]:
    """The worker pids, once all of them are idle: a booting worker is busy importing aiogram
    for several seconds, a booted one waits for requests."""
    deadline = time.monotonic() + MAX_BOOT_S
    while time.monotonic() < deadline:
        master.check_alive()
        pids = child_pids(master.pid)
        if len(pids) < workers:
            time.sleep(0.2)
            continue
        try:
            before = [cpu_seconds(pid) for pid in pids]
            time.sleep(IDLE_WINDOW_S)
            used = [cpu_seconds(pid) - start for pid, start in zip(pids, before, strict=True)]
        except ProcessFailed:  # a worker was replaced meanwhile: look again
            continue
        if all(u < IDLE_CPU_S for u in used):
            return pids
    raise ProcessFailed(
        f"gunicorn's {workers} worker(s) did not finish booting in {MAX_BOOT_S:.0f} s.\n"
        + master.log_tail()
    )


def start_redis(workdir: Path) -> tuple[ServiceProcess, str]:
    """A redis-server of the benchmark's own on loopback (nothing saved); its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ProcessFailed(REDIS_MISSING)
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(workdir)]  # fmt: skip
    redis = ServiceProcess("redis-server", argv, workdir / "redis.log").start()
    redis.wait_listening(port, timeout=30)
    return redis, f"redis://127.0.0.1:{port}/0"
