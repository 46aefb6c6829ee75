"""What polling and webhook mode share: stop signals, the Bot API retry, flood control,
broadcasts, inline filters.

- `stop_signals.py`: Ctrl+C / SIGTERM as a polite stop request, and the waits it cuts short;
- `retry.py`: `call_with_retry()`, the one retry of Bot API calls (429, network);
- `api_errors.py`: which failures mean "unreachable", and the messages for the others;
- `flood.py`, `flood_session.py`: every message paced at Telegram's limits (budgets, the
  bulk lane), 429s sent again;
- `broadcast.py`: one message to many chats, resumed after a restart (`broadcast_files.py`:
  its progress without a shared state);
- `shared.py`: the shared state (`SharedState`): what the bot's processes share, when
  configured;
- `inline_filters.py`: aiogram's pure filters run without a thread hand-off;
- `processes.py`: which processes run this project's bot (the doctor, and the lock's check of
  its holder), launchers and debuggers folded into one bot.
"""
