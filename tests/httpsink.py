"""A real HTTP server on 127.0.0.1 for the channel tests: answers, fails, or hangs."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Sink:
    """What the server answers (``statuses`` in turn, then 200) and what it received."""

    secret: str = ""
    statuses: list[int] = field(default_factory=list)
    hang: bool = False
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def signature_ok(self, request: Received) -> bool:
        """True when the request's signature header is the HMAC of its exact body."""
        expected = (
            "sha256=" + hmac.new(self.secret.encode(), request.body, hashlib.sha256).hexdigest()
        )
        given = request.headers.get("X-Resilient-Queue-Signature", "")
        return hmac.compare_digest(expected, given)


@contextmanager
def http_sink(
    *, secret: str = "", statuses: list[int] | None = None, hang: bool = False
) -> Iterator[Sink]:
    """Serve on 127.0.0.1 (a free port) in a thread until the block ends."""
    sink = Sink(secret=secret, statuses=list(statuses or []), hang=hang)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            sink.received.append(Received(self.path, dict(self.headers.items()), body))
            if sink.hang:
                sink.release.wait(60)
                return
            status = sink.statuses.pop(0) if sink.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sink.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/T0KEN-path-secret"
    try:
        yield sink
    finally:
        sink.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
