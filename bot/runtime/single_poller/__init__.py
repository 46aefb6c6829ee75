"""One poller per bot: what keeps a second `python run.py` from polling the same token.

What it guarantees: while a process polls a bot, no other process polls it:

- on this machine, `lock.py`'s OS file lock in LOCK_DIR (one per bot id), taken before aiogram
  is imported and released by the kernel when the holder dies (kill -9 included);
- across hosts, with the shared state, a lease renewed while polling (`lease.py` is its
  interface, the shared state implements it); a poller that loses it stops fetching before
  another may take it;
- under `python run.py --reload`, the supervisor's reload lock (`supervised.py`): one
  supervisor per bot, and its child is the only poller it starts.

A refused poller is told who holds the lock (`holder.py`: pid, host, since when, whether that
pid is still a bot process by `processes.py`, and how to stop it on this platform).
"""
