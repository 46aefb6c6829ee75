"""How long a restart takes, the new way against the old one in the same run.

    python -m bench.restarts                 # 10 saves per way, 3 starts, 3 gunicorn reloads
    python -m bench.restarts --saves 5 --starts 1 --reloads 1

Against the emulator (sandbox/) on loopback, in a copy of the project (tests/helpers):

- **save to first new reply** under `python run.py --reload`: the echo handler is edited, and
  a probe message goes out every 50 ms (each in a chat of its own, so flood limits never pace
  it) until one is answered by the new code; the figure is from the write to that reply.
  Warm parent (the default on POSIX) against `BOT_RELOAD_FORK=0` (a fresh interpreter per
  restart, as before).
- **start to ready**: `python run.py` until its bot polls, and the first start of `--reload`.
- **gunicorn reload**: SIGHUP to a master with 2 workers until both new workers are ready,
  with the master's preload (the default) and with `GUNICORN_PRELOAD=0` (as before).

Each figure is printed with the machine's load (`os.getloadavg`): other processes slow both
ways alike, so compare the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sandbox import Emulator
from tests.helpers.processes import free_port
from tests.helpers.project_copy import run_py
from tests.helpers.reload import POLLING, copy_project, run_in_copy, set_echo_prefix
from tests.helpers.stack import WORKER_READY, gunicorn, gunicorn_env

TOKEN = "4242:BENCH-restarts_token"
PROBE_INTERVAL = 0.05
WAIT = 180.0
GUNICORN_WORKERS = 2


def bot_env(emulator: Emulator, state: Path) -> dict[str, str]:
    """A development poller against the emulator, running the tests' echo handlers."""
    return {
        "BOT_TOKEN": TOKEN,
        "APP_ENV": "local",
        "TELEGRAM_API_URL": emulator.base_url,
        "LOCK_DIR": str(state / "locks"),
        "SHUTDOWN_TIMEOUT": "10",
    }


async def save_to_reply(emulator: Emulator, project: Path, version: int, chats: list[int]) -> float:
    """Edit the handler; seconds until a probe is answered with the new prefix."""
    prefix = f"v{version}: "
    saved = time.monotonic()
    set_echo_prefix(project, prefix)
    while True:
        chat = chats[0] + len(chats)
        chats.append(chat)
        emulator.send_text(TOKEN, "probe", chat_id=chat)
        await asyncio.sleep(PROBE_INTERVAL)
        for probe in chats[-200:]:
            if any(m["text"] == prefix + "probe" for m in emulator.bot_messages(TOKEN, probe)):
                # Noticed up to one probe interval late: the figure errs on the slow side.
                return time.monotonic() - saved
        if time.monotonic() - saved > WAIT:
            raise TimeoutError(f"no reply from the new code within {WAIT} s")


async def reload_saves(
    emulator: Emulator, workdir: Path, fork: str, saves: int
) -> tuple[float, list[float]]:
    """(first start to polling, seconds from each save to the first new reply)."""
    project, env_file = copy_project(workdir / f"project-fork{fork}", bot_env(emulator, workdir))
    program = run_in_copy(project, "--reload", "--env-file", str(env_file))
    program.env["BOT_RELOAD_FORK"] = fork
    started = time.monotonic()
    supervisor = await program.start()
    try:
        await supervisor.wait_for_lines(POLLING, timeout=WAIT)
        first = time.monotonic() - started
        chats = [10_000 * (int(fork) + 1)]
        figures = []
        for version in range(1, saves + 1):
            figures.append(await save_to_reply(emulator, project, version, chats))
        return first, figures
    finally:
        await supervisor.stop(signal.SIGINT)


async def plain_start(emulator: Emulator, workdir: Path) -> float:
    """Seconds from `python run.py` to its bot polling (a fresh interpreter)."""
    project, env_file = copy_project(workdir / "project-plain", bot_env(emulator, workdir))
    started = time.monotonic()
    bot = await run_py(project, "--env-file", str(env_file)).start()
    try:
        await bot.wait_for_lines(POLLING, timeout=WAIT)
        return time.monotonic() - started
    finally:
        await bot.stop(signal.SIGINT)


async def gunicorn_reloads(
    emulator: Emulator, workdir: Path, preload: str, reloads: int
) -> list[float]:
    """Seconds from each SIGHUP until every new worker is ready."""
    env_file = workdir / "empty.env"
    env_file.write_text("")
    env = gunicorn_env(
        {
            "BOT_TOKEN": TOKEN,
            "APP_ENV": "production",
            "ENV_FILE": str(env_file),
            "TELEGRAM_API_URL": emulator.base_url,
            "WEBHOOK_BASE_URL": f"https://127.0.0.1:{free_port()}",
            "WEBHOOK_SECRET": "bench-restarts-secret",
            "LOCK_DIR": str(workdir / "locks"),
            "SHUTDOWN_TIMEOUT": "5",
            "GUNICORN_BIND": f"127.0.0.1:{free_port()}",
            "WEB_CONCURRENCY": str(GUNICORN_WORKERS),
            "GUNICORN_PRELOAD": preload,
        }
    )
    master = await gunicorn(env).start()
    try:
        await master.wait_for_lines(WORKER_READY, GUNICORN_WORKERS, timeout=WAIT)
        figures = []
        for round_number in range(2, reloads + 2):
            hup = time.monotonic()
            master.send_signal(signal.SIGHUP)
            await master.wait_for_lines(WORKER_READY, GUNICORN_WORKERS * round_number, WAIT)
            figures.append(time.monotonic() - hup)
        return figures
    finally:
        await master.stop(signal.SIGTERM)


def line(label: str, figures: list[float]) -> str:
    """`label: median 0.61 s, max 0.80 s (n=10), load 2.31`."""
    load = os.getloadavg()[0]
    return (
        f"| {label:<62} | {statistics.median(figures):7.2f} | {max(figures):7.2f} "
        f"| {len(figures):3d} | {load:5.2f} |"
    )


def ratio(name: str, old: list[float], new: list[float]) -> str:
    """`name: 12.1x faster (median)`."""
    return f"{name}: {statistics.median(old) / statistics.median(new):.1f}x faster (median)"


async def measure(args: argparse.Namespace) -> None:
    """Every measurement, interleaved per way so that both meet the same load."""
    rows: list[str] = []
    verdicts: list[str] = []

    def show(label: str, figures: list[float]) -> None:
        rows.append(line(label, figures))
        print(rows[-1], flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-restarts-") as folder:
        workdir = Path(folder)
        async with Emulator() as emulator:
            firsts: dict[str, list[float]] = {"1": [], "0": []}
            saves: dict[str, list[float]] = {}
            for fork in ("1", "0"):
                first, figures = await reload_saves(emulator, workdir, fork, args.saves)
                firsts[fork].append(first)
                saves[fork] = figures
            label = {"1": "warm parent (fork)", "0": "BOT_RELOAD_FORK=0 (fresh interpreter)"}
            for fork in ("1", "0"):
                show(f"--reload save to new reply, {label[fork]}", saves[fork])
            verdicts.append(ratio("save to new reply", saves["0"], saves["1"]))
            starts = [await plain_start(emulator, workdir) for _ in range(args.starts)]
            show("python run.py start to polling", starts)
            show("--reload first start to polling, fork", firsts["1"])
            show("--reload first start to polling, fresh", firsts["0"])
            preloaded = await gunicorn_reloads(emulator, workdir, "1", args.reloads)
            fresh = await gunicorn_reloads(emulator, workdir, "0", args.reloads)
            show("gunicorn HUP to workers ready, preload", preloaded)
            show("gunicorn HUP to workers ready, GUNICORN_PRELOAD=0", fresh)
            verdicts.append(ratio("gunicorn reload", fresh, preloaded))
    print(f"\n{_HEADER}\n" + "\n".join(rows) + "\n\n" + "\n".join(verdicts))
    print(f"cores: {os.cpu_count()}, Python {sys.version.split()[0]}")


_HEADER = (
    f"| {'what':<62} | median  |   max   |   n | load  |\n"
    f"|{'-' * 64}|---------|---------|-----|-------|"
)


def main() -> None:
    """Parse the flags and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saves", type=int, default=10, help="saves per way (default 10)")
    parser.add_argument("--starts", type=int, default=3, help="plain starts (default 3)")
    parser.add_argument("--reloads", type=int, default=3, help="gunicorn HUPs per way")
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
