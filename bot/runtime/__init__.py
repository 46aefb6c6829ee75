"""What polling and webhook mode share, one sub-package per concern (arrows: may import).

- `updates/`: the bookkeeping of incoming updates: which ids were handled (`dedup.py`), an
  update asking to come again (`redelivery.py`), one aiogram cannot read (`unreadable.py`),
  aiogram's pure filters run without a thread hand-off (`inline_filters.py`);
- `observability/`: the Prometheus metrics and `/metrics`, error reports to Sentry, the
  middlewares that feed them (`observers.py`), a doctor check's line (`checks.py`);
- `outgoing/`: every Bot API call the bot makes: what a failure means (`api_errors.py`), the
  one retry (`retry.py`), flood control (`flood.py`, `flood_session.py`);
- `broadcast/`: one message to many chats, resumed after a restart (`files.py`: its progress
  without a shared state);
- `single_poller/`: one poller per bot: the OS lock, its holder, the process list, the
  `--reload` child, the lease's interface;
- `shared/`: the shared state's interface (`state.py`), and its implementation behind one
  facade in a sub-package that nothing but `bot.factory` imports;
- `stop_signals.py`: Ctrl+C / SIGTERM as a polite stop request, and the waits it cuts short.

shared -> broadcast | single_poller -> outgoing -> observability -> updates: the
import contract "bot/runtime/ by concern" in pyproject.toml keeps these arrows one way.
"""
