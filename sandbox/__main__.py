"""`python -m sandbox --port N`: serve the emulator on 127.0.0.1 until Ctrl+C / SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from sandbox.emulator import Emulator
from sandbox.flood import FloodLimits


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options; the retry/timeout knobs exist so scripted tests run fast."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback)")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--webhook-timeout", type=float, default=60.0)
    parser.add_argument("--retry-first-delay", type=float, default=1.0)
    parser.add_argument("--retry-max-delay", type=float, default=60.0)
    parser.add_argument("--webhook-change-interval", type=float, default=1.0)
    parser.add_argument(
        "--official-webhook-rules",
        action="store_true",
        help="refuse http and ports other than 443/80/88/8443, as api.telegram.org does",
    )
    parser.add_argument(
        "--no-flood-limits",
        dest="flood_limits",
        action="store_false",
        help="do not answer 429 to a bot that sends faster than Telegram allows (on by default)",
    )
    parser.add_argument(
        "--flood-scale",
        type=float,
        default=1.0,
        help="multiply Telegram's flood limits' rates (same bursts), e.g. 10 for fast tests",
    )
    parser.add_argument(
        "--flood-sliding-window",
        action="store_true",
        help="count each flood limit as a sliding window (at most BURST in any BURST/RATE "
        "seconds) instead of a token bucket",
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Run until SIGINT/SIGTERM, after printing the readiness line."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows has no signal handlers
            loop.add_signal_handler(signum, stop.set)
    async with Emulator(
        host=args.host,
        port=args.port,
        webhook_timeout=args.webhook_timeout,
        retry_first_delay=args.retry_first_delay,
        retry_max_delay=args.retry_max_delay,
        webhook_change_interval=args.webhook_change_interval,
        official_webhook_rules=args.official_webhook_rules,
        flood_limits=(
            FloodLimits(sliding_window=args.flood_sliding_window).scaled(args.flood_scale)
            if args.flood_limits
            else None
        ),
    ) as tg:
        # Scripts wait for this exact line before they start a bot against us.
        print(f"sandbox: Bot API emulator listening on {tg.base_url}", flush=True)
        # copier: if sandbox
        print(f"sandbox: chat page at {tg.base_url}/ (Ctrl+C stops)", flush=True)
        # copier: endif
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        asyncio.run(serve(args))
    except OSError as error:
        print(f"sandbox: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
