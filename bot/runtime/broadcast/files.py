"""Broadcast progress in files (no shared state): `LOCK_DIR/telegram-bot-<bot id>-broadcasts/`.

Per job: `<id>.job.json` (what and to whom), `<id>.progress` (one `<chat> <state>` line per
change, the last one wins), `<id>.lock` (an OS lock, held by the process that runs the job
and released by the kernel when it dies), `<id>.done` once finished. A line is written
(flushed to the OS) before the request it announces goes out: kill -9 loses no line, since
the kernel keeps what was written; only a power cut could (no fsync: 2 lines per message).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

from filelock import FileLock, Timeout

from bot.runtime.broadcast.broadcaster import BroadcastJob

JOB_ID = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def broadcasts_dir(lock_dir: Path, bot_id: int) -> Path:
    """The folder of one bot's broadcast jobs."""
    return Path(lock_dir) / f"telegram-bot-{bot_id}-broadcasts"


class FileBroadcastStore:
    """Jobs and their progress in a folder of this machine."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._logs: dict[str, IO[str]] = {}

    def _path(self, job_id: str, suffix: str) -> Path:
        if not JOB_ID.fullmatch(job_id):
            raise ValueError(f"broadcast id {job_id!r}: use letters, digits, _ . or -")
        return self.folder / f"{job_id}{suffix}"

    async def save(self, job: BroadcastJob) -> bool:
        """Keep a new job; False when a job with its id exists."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(job.id, ".job.json")
        # Written aside, then linked into place: a crash never leaves half a job behind,
        # and the link fails if the job exists.
        draft = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        draft.write_text(json.dumps(dataclasses.asdict(job)), encoding="utf-8")
        try:
            os.link(draft, path)
        except FileExistsError:
            return False
        finally:
            draft.unlink()
        return True

    async def unfinished(self) -> list[str]:
        """Ids of the jobs without a `.done` file."""
        if not self.folder.is_dir():
            return []
        ids = (path.name.removesuffix(".job.json") for path in self.folder.glob("*.job.json"))
        return sorted(i for i in ids if not self._path(i, ".done").exists())

    @contextlib.asynccontextmanager
    async def running(self, job_id: str) -> AsyncIterator[BroadcastJob | None]:
        """The job, while this process holds its lock; None if another one does."""
        lock = FileLock(self._path(job_id, ".lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            yield None
            return
        try:
            if self._path(job_id, ".done").exists():
                yield None  # finished by the process that held the lock before
                return
            raw = json.loads(self._path(job_id, ".job.json").read_text(encoding="utf-8"))
            raw["chat_ids"] = tuple(raw["chat_ids"])
            yield BroadcastJob(**raw)
        finally:
            log = self._logs.pop(job_id, None)
            if log is not None:
                log.close()
            lock.release()

    async def progress(self, job_id: str) -> dict[int, str]:
        """Each chat's last state in the progress file."""
        path = self._path(job_id, ".progress")
        states: dict[int, str] = {}
        if path.exists():
            # A last line without its newline was cut short by a crash: it says nothing.
            for line in path.read_text(encoding="utf-8").split("\n")[:-1]:
                chat, _, state = line.partition(" ")
                states[int(chat)] = state
        return states

    async def note(self, job_id: str, chat_id: int, state: str) -> None:
        """Append one chat's state (written to the OS before returning)."""
        log = self._logs.get(job_id)
        if log is None:
            log = self._logs[job_id] = self._path(job_id, ".progress").open("a", encoding="utf-8")
        log.write(f"{chat_id} {state}\n")
        log.flush()

    async def finish(self, job_id: str) -> None:
        """Mark the job finished."""
        self._path(job_id, ".done").touch()
