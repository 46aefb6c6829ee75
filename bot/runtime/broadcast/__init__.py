"""Broadcasts: one message to many chats at Telegram's limit, resumed after a restart.

- `broadcaster.py`: `Broadcaster`, the job, and `BroadcastStore`, where progress is kept;
- `files.py`: the store without a shared state (files in LOCK_DIR); with one, the shared
  state's own store (`SharedState.broadcast_store`).
"""
