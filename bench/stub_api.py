"""A stub Telegram Bot API that answers every call at once with a canned result.

The ingest benchmark measures the webhook app, not the Bot API: the handlers' sendMessage
calls must succeed, but cost the machine as little as possible. This stub is a bare asyncio
protocol (no aiohttp, no per-call records) that counts calls per method; `GET /stats` returns
the counts as JSON. Run it with `python -m bench.stub_api --port N`; it prints a ready line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
import urllib.request
from collections import Counter
from typing import cast

READY_LINE = "stub-api: listening on http://{host}:{port}"

_MESSAGE = {
    "message_id": 1,
    "date": 1700000000,
    "chat": {"id": 100, "type": "private", "first_name": "Bench"},
    "from": {"id": 1, "is_bot": True, "first_name": "Bench bot", "username": "bench_bot"},
    "text": "hello bench",
}
_USER = {"id": 1, "is_bot": True, "first_name": "Bench bot", "username": "bench_bot"}
_WEBHOOK_INFO = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
_RESULTS: dict[str, object] = {
    "sendMessage": _MESSAGE,
    "getMe": _USER,
    "getWebhookInfo": _WEBHOOK_INFO,
}


def _http_response(payload: bytes, content_type: bytes = b"application/json") -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
    return head % (content_type, len(payload)) + payload


_CANNED = {
    method: _http_response(json.dumps({"ok": True, "result": result}).encode())
    for method, result in _RESULTS.items()
}
_CANNED_TRUE = _http_response(b'{"ok":true,"result":true}')


class StubApiProtocol(asyncio.Protocol):
    """HTTP/1.1 keep-alive, Content-Length or chunked bodies; enough for aiohttp clients."""

    def __init__(self, counts: Counter[str]) -> None:
        self.counts = counts
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, so no isinstance check here.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (consumed := self._answer_one()) > 0:
            del self.buffer[:consumed]

    def _answer_one(self) -> int:
        """Answer the first complete request in the buffer; return the bytes it took, or 0."""
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return 0
        head = bytes(self.buffer[:end]).decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body_end = self._body_end(end + 4, headers)
        if body_end is None:
            return 0
        path = request_line.split(" ")[1] if " " in request_line else "/"
        assert self.transport is not None
        self.transport.write(self._response_for(path))
        return body_end

    def _body_end(self, start: int, headers: dict[str, str]) -> int | None:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            position = start
            while True:
                line_end = self.buffer.find(b"\r\n", position)
                if line_end < 0:
                    return None
                size = int(bytes(self.buffer[position:line_end]).split(b";")[0], 16)
                position = line_end + 2 + size + 2
                if position > len(self.buffer):
                    return None
                if size == 0:
                    return position
        end = start + int(headers.get("content-length", "0"))
        return end if end <= len(self.buffer) else None

    def _response_for(self, path: str) -> bytes:
        if path == "/stats":
            return _http_response(json.dumps(dict(self.counts)).encode())
        method = path.rsplit("/", 1)[-1]
        self.counts[method] += 1
        return _CANNED.get(method, _CANNED_TRUE)


async def serve(host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT."""
    counts: Counter[str] = Counter()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: StubApiProtocol(counts), host, port)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(READY_LINE.format(host=host, port=port), flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(serve(args.host, args.port))
    except ImportError:
        asyncio.run(serve(args.host, args.port))


def read_counts(base_url: str) -> dict[str, int]:
    """The stub's calls per method so far (used by the harness, in another process)."""
    if not base_url.startswith("http://127.0.0.1:"):
        raise ValueError(f"the stub Bot API runs on loopback, not at {base_url}")
    with urllib.request.urlopen(f"{base_url}/stats", timeout=5) as response:  # noqa: S310
        counts: dict[str, int] = json.load(response)
    return counts


def settled_replies(base_url: str, quiet_s: float = 0.5, timeout_s: float = 20.0) -> int:
    """sendMessage calls so far, once the count has stopped moving for `quiet_s` seconds:
    apps that answer before handling (aiogram's background mode) are still replying."""
    deadline = time.monotonic() + timeout_s
    last = read_counts(base_url).get("sendMessage", 0)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        current = read_counts(base_url).get("sendMessage", 0)
        if current == last:
            return current
        last = current
    return last


if __name__ == "__main__":
    main()
