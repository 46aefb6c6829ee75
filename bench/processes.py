"""Start, watch and stop the benchmark's processes; read their memory and CPU from /proc.

Every process is started in its own session (process group), so stopping it also stops what
it started (gunicorn's workers). Nothing here ever signals a process it did not start.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.settings import env_names

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _is_deployment_variable(name: str) -> bool:
    # The bot's and gunicorn's own settings: a developer's exported BOT_TOKEN, REDIS_URL or
    # WEB_CONCURRENCY must not change what is measured.
    return (
        name in env_names()
        or name in ("ENV_FILE", "WEB_CONCURRENCY")
        or name.startswith("GUNICORN_")
    )


class ProcessFailed(RuntimeError):
    """A benchmark process exited or did not get ready; the message ends with its log tail."""


def free_port() -> int:
    """A loopback TCP port that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServiceProcess:
    """One server process (stub API, app, gunicorn master) with its output in a log file."""

    # Every pid started in this run, for the results file (the smoke test checks they are gone).
    started_pids: list[int] = []  # noqa: RUF012 - one shared record on purpose

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        inherited = {k: v for k, v in os.environ.items() if not _is_deployment_variable(k)}
        self.env = {**inherited, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was not started"
        return self.popen.pid

    def start(self) -> ServiceProcess:
        # Output goes to a file, never to a pipe nobody reads (a full pipe blocks the server).
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        ServiceProcess.started_pids.append(self.popen.pid)
        return self

    def wait_listening(self, port: int, timeout: float = 90.0) -> None:
        """Until 127.0.0.1:port accepts connections; fail early if the process exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise ProcessFailed(
            f"{self.name} did not listen on port {port} in {timeout:.0f} s.\n" + self.log_tail()
        )

    def check_alive(self) -> None:
        assert self.popen is not None
        if self.popen.poll() is not None:
            raise ProcessFailed(
                f"{self.name} exited with code {self.popen.returncode}.\n" + self.log_tail()
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return f"(no log at {self.log_path})"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- last lines of {self.log_path} ---\n{tail}"

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM to the process group, SIGKILL after `timeout` seconds; then end any
        member of the group that outlived its leader (a worker whose master died)."""
        if self.popen is None:
            return
        members = group_members(self.pid)
        if self.popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.popen.wait(5)
        for pid in members:
            # Only a process still in our group: never one that reused a pid.
            if pid in group_members(self.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def _signal_group(self, signum: signal.Signals) -> None:
        # The group id is the pid of the process started here (start_new_session=True).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signum)


def _stat_fields(pid: int | str) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name (which may contain spaces) start after the last ')'.
    return stat[stat.rindex(")") + 2 :].split()


def group_members(pgid: int) -> list[int]:
    """Processes whose process group is `pgid`."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(entry.name)) and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def rss_kib(pid: int) -> int:
    """Resident memory of a process (VmRSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ProcessFailed(f"no VmRSS in /proc/{pid}/status")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    fields = _stat_fields(pid)
    if fields is None:
        raise ProcessFailed(f"process {pid} is gone")
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def child_pids(pid: int) -> list[int]:
    """Direct children of a process (gunicorn's workers, for its master)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(entry.name)) and int(fields[1]) == pid:
            children.append(int(entry.name))
    return sorted(children)


def system_busy_seconds() -> float:
    """CPU time all cores spent busy since boot (user, nice, system, irq, softirq, steal)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def children_cpu_seconds() -> float:
    """CPU time of this process's finished children (wrk runs), for the 'others' estimate."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """CPU used by the measured processes during a run, and by everything else on the machine
    (other people's tests, say): a busy machine lowers requests/s, not CPU per request."""

    def __init__(self, measured_pids: list[int], helper_pids: list[int]) -> None:
        self.measured_pids = measured_pids
        self.helper_pids = helper_pids

    def __enter__(self) -> CpuMeter:
        self._start = time.monotonic()
        self._busy = system_busy_seconds()
        self._children = children_cpu_seconds()
        self._measured = [cpu_seconds(pid) for pid in self.measured_pids]
        self._helpers = sum(cpu_seconds(pid) for pid in self.helper_pids)
        return self

    def __exit__(self, *exc_info: object) -> None:
        wall = time.monotonic() - self._start
        self.measured_cpu_s = [
            cpu_seconds(pid) - start
            for pid, start in zip(self.measured_pids, self._measured, strict=True)
        ]
        ours = (
            sum(self.measured_cpu_s)
            + sum(cpu_seconds(pid) for pid in self.helper_pids)
            - self._helpers
            + children_cpu_seconds()
            - self._children
        )
        others = system_busy_seconds() - self._busy - ours
        self.other_cores = max(0.0, others / wall) if wall else 0.0
