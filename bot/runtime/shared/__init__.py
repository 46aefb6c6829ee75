"""The shared state: what one process of the bot shares with its other processes.

- `state.py`: `SharedState`, the interface the rest of `bot/` knows;
- its implementation, a sub-package with one facade over its parts. Only `bot.factory`
  imports it (an import contract says so), and only when the settings configure it, so its
  client library is needed only then.
"""
