"""gunicorn settings for the webhook app (production).

    gunicorn -c deploy/gunicorn.conf.py bot.webhook.app:gunicorn_app

The environment (systemd's EnvironmentFile=.env.production, compose's env_file) configures it:

    GUNICORN_BIND              where to listen: 127.0.0.1:8080 (the default), or a unix socket
                               as the systemd unit sets; nginx proxies to it. Never a public
                               address.
    WEB_CONCURRENCY            worker processes (default: one per CPU core with REDIS_URL set,
                               else 1, because FSM state in memory is not shared by workers)
    GUNICORN_GRACEFUL_TIMEOUT  seconds a stopping worker gets (default SHUTDOWN_TIMEOUT + 15)
    GUNICORN_ACCESS_LOG        "-" for an access log on stderr (default off: nginx logs requests)
    APP_ENV, ENV_FILE          which env file the bot reads (.env.production by default)

The master imports nothing of the bot: it registers the webhook once, in a short-lived child
process, before any worker starts (`on_starting`), so that a reload (`kill -HUP`, or
`systemctl reload` of the unit) makes the new workers import the new code. Workers never
touch the webhook.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The aiohttp worker on uvloop: with the plain asyncio worker one of two workers took all the
# requests here (measured); uvloop's accept loop spreads them evenly.
if importlib.util.find_spec("uvloop") is not None:
    worker_class = "aiohttp.GunicornUVLoopWebWorker"
else:
    worker_class = "aiohttp.GunicornWebWorker"

bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8080")]
# Only nginx on this machine may write to the socket.
umask = 0o007
# FSM state (the step a conversation is at) lives in a worker's memory unless REDIS_URL shares
# it: with several workers and no Redis, a user's next message may reach a worker that does not
# know the conversation. So the default is one worker without Redis, one per core with it.
_redis = bool(os.environ.get("REDIS_URL"))
workers = int(os.environ.get("WEB_CONCURRENCY") or (len(os.sched_getaffinity(0)) if _redis else 1))
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
# copier: filter replace("tg-bot", slug) | replace("tgbot", slug_id)
proc_name = "tg-bot"
# copier: endfilter


def on_starting(server: object) -> None:
    """Register the webhook once per start of the master (not per worker, not on reload)."""
    if workers > 1 and not _redis:
        print(
            f"Warning: {workers} workers without REDIS_URL: each keeps its own FSM state, so a "
            "conversation can lose its step when a message reaches another worker. Set "
            "REDIS_URL, or WEB_CONCURRENCY=1.",
            file=sys.stderr,
        )
    env = {**os.environ, "GUNICORN_GRACEFUL_TIMEOUT": str(graceful_timeout)}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bot.webhook"],
            cwd=PROJECT_ROOT,
            env=env,
            timeout=300,  # a few 429 retry_after waits at most
            check=False,
        )
    except subprocess.TimeoutExpired:
        print("Webhook registration did not finish in 300 s; not starting.", file=sys.stderr)
        sys.exit(1)
    if result.returncode != 0:
        # 2: invalid configuration or a token/URL Telegram rejects. systemd does not restart
        # on it (RestartPreventExitStatus), a restart would not fix it.
        sys.exit(result.returncode)
