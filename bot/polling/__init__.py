"""Development mode: long polling, one poller per bot, a clean stop.

- `process.py`: `run_polling(settings)`, what `python run.py` runs in polling mode;
- the per-bot OS lock and who holds it are `bot/runtime/single_poller/`, shared with the
  operators' commands and `--reload`;
- `runner.py`: `PollingRunner`, the getUpdates loop (start-up checks, 409s, outages);
  `fetching.py`: one getUpdates (cut short by the shared lease, unreadable updates split
  out); `intake.py`: which updates to start and the offset; `shutdown.py`: handlers
  finished and the offset confirmed at the end;
- `update_tasks.py`: handlers running concurrently, bounded, drained at shutdown;
- `conflicts.py`: 409 Conflicts (another poller, a webhook) and what the poller says.
"""
