"""Exit codes of `python run.py` and of the operators' commands (see docs/operating.md)."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Why the process stopped; scripts, systemd and deploy pipelines read these."""

    OK = 0  # stopped cleanly, or the command found everything well (or already done)
    ERROR = 1  # unexpected error: a bug, read the traceback
    CONFIG = 2  # invalid configuration or usage: nothing started, nothing changed
    LOCKED = 3  # another local instance holds the polling lock (migrate refuses too)
    WEBHOOK_ACTIVE = 4  # a webhook is set for this token, so polling was refused
    CONFLICT = 5  # another poller elsewhere kept terminating this one (409) past the grace
    WARNINGS = 6  # doctor: no problem, but warnings worth reading
    ATTENTION = 7  # doctor found a problem, or a command could not do its job safely
    INTERRUPTED = 130  # a third Ctrl+C ended the process at once (128 + SIGINT, as shells say)
