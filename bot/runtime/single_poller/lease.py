"""The polling lease's interface: one poller across hosts, as the poller sees it.

The shared state implements it (`SharedState.take_polling_lease`); without a shared state
there is no lease, and the local lock (`lock.py`) is the whole guard.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from bot.exit_codes import ExitCode
from bot.runtime.single_poller.holder import LockHolder


@dataclass(frozen=True)
class LeaseHolder:
    """The poller holding the shared polling lease, and how long until it expires unless
    renewed."""

    holder: LockHolder
    expires_in: float


@dataclass(frozen=True)
class LeaseRefusal:
    """Polling must not start: the exit code, and the sentence that says why and what to do."""

    code: ExitCode
    message: str


class SharedLease(Protocol):
    """One poller across hosts, renewed while this process polls. `halted` is set while
    fetching is not safe (renewals fail, or the lease was lost); `lost` once another poller
    took it (this one must stop)."""

    halted: asyncio.Event
    lost: asyncio.Event

    def start(self) -> None:
        """Start renewing in the background."""

    async def stop(self) -> None:
        """Stop renewing and give the lease up."""

    async def resumed_or_lost(self) -> None:
        """Wait until fetching is safe again, or the lease is lost."""
