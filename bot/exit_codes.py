"""Exit codes of `python run.py`, as documented in the README."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Why the process stopped; scripts and systemd read these."""

    OK = 0
    ERROR = 1
    CONFIG = 2
    LOCKED = 3
    WEBHOOK_ACTIVE = 4
    CONFLICT = 5
