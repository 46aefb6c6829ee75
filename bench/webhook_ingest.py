"""Webhook ingest benchmark: the template's app against aiogram's example and bare aiohttp.

    python -m bench.webhook_ingest            # about 4 minutes; see bench/README.md

Each app runs alone in its own process (one worker) on a free loopback port; wrk posts
private-chat text updates with a new update_id each; the handlers' replies go to a stub Bot
API (bench/stub_api.py) that answers at once, so what is measured is the app. Then gunicorn
with 1 and 2 workers, end to end. Every process started here is stopped on exit and Ctrl+C.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from bench.apps import APP_NAMES, WEBHOOK_PATH
from bench.load import WRK_MISSING, UpdateIds, run_wrk, wrk_path
from bench.processes import CpuMeter, ProcessFailed, ServiceProcess, free_port, rss_kib
from bench.report import (
    IngestResult,
    ScaleoutResult,
    ingest_table,
    ingest_verdicts,
    median_by_app,
    scaleout_table,
    scaleout_verdict,
)
from bench.scaleout import TEMPLATE_APP, run_scaleout, start_redis
from bench.stub_api import settled_replies

SECRET = "bench-secret-0123456789"
DEFAULT_APPS = ("template", "aiogram", "aiogram-quiet", "bare")


def progress(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.webhook_ingest", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--apps",
        default=",".join(DEFAULT_APPS),
        help=f"comma-separated, from {', '.join(APP_NAMES)} (default: %(default)s)",
    )
    parser.add_argument("--concurrency", default="8,64", help="connections (default: %(default)s)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per app")
    parser.add_argument("--rounds", type=int, default=1, help="repeat all apps; report medians")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default: 1)")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument(
        "--scaleout",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run gunicorn with 1 and 2 workers (default: on)",
    )
    parser.add_argument(
        "--redis",
        action="store_true",
        help="also run the scale-out with REDIS_URL (a redis-server of its own) and compare",
    )
    parser.add_argument(
        "--ingest",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the single-worker ingest comparison (default: on)",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    args.apps = [name.strip() for name in args.apps.split(",") if name.strip()]
    unknown = [name for name in args.apps if name not in APP_NAMES]
    if unknown:
        parser.error(f"unknown app(s) {', '.join(unknown)}; choose from {', '.join(APP_NAMES)}")
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    return args


def run_ingest(
    args: argparse.Namespace, stub: ServiceProcess, api_url: str, workdir: Path, ids: UpdateIds
) -> list[IngestResult]:
    results = []
    for round_number in range(1, args.rounds + 1):
        for name in args.apps:
            if name.startswith("template") and not TEMPLATE_APP.is_file():
                progress("skipping template: bot/webhook/app.py does not exist yet")
                continue
            port = free_port()
            argv = [sys.executable, "-m", "bench.apps", name, "--port", str(port),
                    "--api-url", api_url, "--secret", SECRET, "--loop", args.loop]  # fmt: skip
            app = ServiceProcess(name, argv, workdir / f"{name}-{round_number}.log")
            try:
                progress(f"round {round_number}: starting {name}")
                app.start().wait_listening(port)
                url = f"http://127.0.0.1:{port}"
                if args.warmup > 0:
                    warm = max(args.concurrency)
                    run_wrk(url, WEBHOOK_PATH, SECRET, warm, args.warmup, ids.take(), args.threads)
                for connections in args.concurrency:
                    before = settled_replies(api_url)
                    with CpuMeter([app.pid], [stub.pid]) as cpu:
                        load = run_wrk(
                            url, WEBHOOK_PATH, SECRET, connections, args.duration, ids.take(),
                            args.threads,
                        )  # fmt: skip
                        replies = settled_replies(api_url) - before
                    app.check_alive()
                    progress(
                        f"{name} c={connections}: {load.ok_per_second:,.0f} req/s, "
                        f"p99 {load.p99_us / 1000:.1f} ms, {load.errors} errors"
                    )
                    results.append(
                        IngestResult(
                            name,
                            load,
                            replies,
                            rss_kib(app.pid),
                            cpu.measured_cpu_s[0],
                            cpu.other_cores,
                        )
                    )
            finally:
                app.stop()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if wrk_path() is None:
        print(WRK_MISSING, file=sys.stderr)
        return 2

    def stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # unwinds through every `finally` that stops a process

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    ids = UpdateIds()
    stub_port = free_port()
    api_url = f"http://127.0.0.1:{stub_port}"
    stub = ServiceProcess(
        "stub Bot API",
        [sys.executable, "-m", "bench.stub_api", "--port", str(stub_port)],
        workdir / "stub-api.log",
    )
    ingest: list[IngestResult] = []
    scaleout: list[ScaleoutResult] = []
    try:
        stub.start().wait_listening(stub_port, timeout=30)
        if args.ingest:
            ingest = median_by_app(run_ingest(args, stub, api_url, workdir, ids))
        if args.scaleout:
            scaleout = run_scaleout(
                stub, api_url, SECRET, workdir, ids, args.duration, args.warmup, progress=progress
            )
        if args.scaleout and args.redis:
            redis, redis_url = start_redis(workdir)
            try:
                scaleout += run_scaleout(
                    stub, api_url, SECRET, workdir, ids, args.duration, args.warmup,
                    progress=progress, redis_url=redis_url,
                )  # fmt: skip
            finally:
                redis.stop()
    except ProcessFailed as error:
        print(f"benchmark stopped: {error}\nlogs kept in {workdir}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"benchmark interrupted; logs kept in {workdir}", file=sys.stderr)
        return 130
    finally:
        stub.stop()

    if args.json is not None:
        write_json(args.json, args, ingest, scaleout)
    print_results(args, ingest, scaleout)
    if args.keep_logs:
        print(f"\nlogs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def print_results(
    args: argparse.Namespace, ingest: list[IngestResult], scaleout: list[ScaleoutResult]
) -> None:
    print(
        f"\nWebhook ingest, one worker each, {args.duration:g} s per run, "
        f"wrk {args.threads} thread(s), {args.loop} loop, median of {args.rounds} round(s)"
    )
    if ingest:
        print(ingest_table(ingest))
        for line in ingest_verdicts(ingest):
            print(line)
    if scaleout:
        print("\nGunicorn, end to end (replies counted at the stub Bot API), 64 connections")
        print(scaleout_table(scaleout))
        for line in scaleout_verdict(scaleout):
            print(line)


def write_json(
    path: Path,
    args: argparse.Namespace,
    ingest: list[IngestResult],
    scaleout: list[ScaleoutResult],
) -> None:
    data = {
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "ingest": [dataclasses.asdict(r) for r in ingest],
        "scaleout": [dataclasses.asdict(r) for r in scaleout],
        "started_pids": ServiceProcess.started_pids,
    }
    path.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
