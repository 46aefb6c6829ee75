"""The shared state: what one process of the bot shares with its other processes.

- `state.py`: `SharedState`, the interface the rest of `bot/` knows;
- `redis/`: its implementation on Redis (REDIS_URL), `RedisState` in `redis/state.py` the
  facade over its parts. Only `bot.factory` imports it (an import contract says so), and only
  when REDIS_URL is set, so the `redis` package is needed only then.
"""
