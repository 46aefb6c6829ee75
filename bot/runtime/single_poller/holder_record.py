"""Who polls a bot: the process named by its polling lock (this machine) or by the shared
polling lease (any host)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class LockHolder:
    """The process that holds a bot's polling lock (`process_started`: its psutil start
    time, which tells it apart from a later process given the same pid)."""

    pid: int
    host: str
    started_at: datetime
    command: str
    process_started: float | None = None

    def describe(self) -> str:
        """`pid 4123 on host dev-laptop, since 2025-01-31 10:02:03`."""
        pid = f"pid {self.pid}" if self.pid else "unknown pid"
        since = self.started_at.strftime("%Y-%m-%d %H:%M:%S")
        return f"{pid} on host {self.host}, since {since}"

    @property
    def on_this_host(self) -> bool:
        """True when the holder recorded this machine's current host name."""
        return self.host == socket.gethostname()
