"""Is a server reachable? DNS, TCP connect and TLS handshake, each timed, failures named.

Operators see outages as Python exceptions from deep inside aiohttp ("[WinError 121] The
semaphore timeout period has expired", "Cannot connect to host"); this names the failing step
and the class of error in plain words, which is what decides the fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# Windows error numbers that mean "the network did not answer in time".
_WINDOWS_TIMEOUTS = {121, 10060}  # ERROR_SEM_TIMEOUT, WSAETIMEDOUT
_WINDOWS_REFUSED = {10061}  # WSAECONNREFUSED


@dataclass
class Step:
    """One step of a reachability probe."""

    name: str  # "dns", "tcp" or "tls"
    ok: bool
    seconds: float
    detail: str  # the addresses found, the peer, the TLS version, or the named error


@dataclass
class Reachability:
    """The outcome of probing one URL's server."""

    url: str
    host: str
    port: int
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every step that ran succeeded."""
        return all(step.ok for step in self.steps)

    @property
    def failed(self) -> Step | None:
        """The step that failed, if any."""
        return next((step for step in self.steps if not step.ok), None)

    def summary(self) -> str:
        """`dns 3 ms (1.2.3.4), tcp 40 ms, tls 80 ms (TLSv1.3)` or where it failed."""
        parts = [
            f"{s.name} {_ms(s.seconds)}" + (f" ({s.detail})" if s.detail else "")
            for s in self.steps
        ]
        return ", ".join(parts)


def classify_error(exc: BaseException) -> str:
    """A plain-words name for a network error, e.g. `connection refused`."""
    if isinstance(exc, socket.gaierror):
        return f"name resolution failed ({exc.strerror or exc})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS failure: certificate not trusted ({getattr(exc, 'verify_message', exc)})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failure ({getattr(exc, 'reason', None) or exc})"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timed out (no answer; like WinError 121 'semaphore timeout')"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listens on that port, or a firewall rejects it)"
    if isinstance(exc, ConnectionResetError):
        return "connection reset (a proxy or firewall cut it)"
    if isinstance(exc, OSError):
        winerror = getattr(exc, "winerror", None)
        if winerror in _WINDOWS_TIMEOUTS or exc.errno == errno.ETIMEDOUT:
            return f"timed out ({exc.strerror or exc})"
        if winerror in _WINDOWS_REFUSED or exc.errno == errno.ECONNREFUSED:
            return "connection refused (nothing listens on that port, or a firewall rejects it)"
        if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return f"network unreachable ({exc.strerror or exc})"
        return f"network error ({exc.strerror or exc})"
    return f"{type(exc).__name__}: {exc}"


async def probe(url: str, step_timeout: float = 5.0) -> Reachability:
    """Resolve, connect and (for https) handshake with the server of `url`; never raises."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    result = Reachability(url=url, host=host, port=port)
    loop = asyncio.get_running_loop()

    started = time.monotonic()
    try:
        async with asyncio.timeout(step_timeout):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError) as exc:
        result.steps.append(Step("dns", False, time.monotonic() - started, classify_error(exc)))
        return result
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    result.steps.append(Step("dns", True, time.monotonic() - started, ", ".join(addresses[:3])))

    started = time.monotonic()
    try:
        async with asyncio.timeout(step_timeout):
            _, writer = await asyncio.open_connection(addresses[0], port)
    except (OSError, TimeoutError) as exc:
        detail = f"{addresses[0]}:{port}: {classify_error(exc)}"
        result.steps.append(Step("tcp", False, time.monotonic() - started, detail))
        return result
    result.steps.append(Step("tcp", True, time.monotonic() - started, f"{addresses[0]}:{port}"))

    try:
        if parts.scheme == "https":
            started = time.monotonic()
            try:
                async with asyncio.timeout(step_timeout):
                    await writer.start_tls(ssl.create_default_context(), server_hostname=host)
            except (OSError, TimeoutError) as exc:
                result.steps.append(
                    Step("tls", False, time.monotonic() - started, classify_error(exc))
                )
                return result
            ssl_object = writer.get_extra_info("ssl_object")
            version = ssl_object.version() if ssl_object is not None else "?"
            result.steps.append(Step("tls", True, time.monotonic() - started, str(version)))
    finally:
        writer.close()
        # The probe already has its answer; a slow or failed close changes nothing.
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
    return result


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
