"""A small local HTTP server for download tests: Range support, dropped connections, errors.

Not a test module (no test_ prefix); used by tests/sam_backend/test_download.py and
tests/e2e/test_cli_models.py.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator


@dataclass
class Behaviour:
    """How the server answers requests for one file.

    drop_after: per-request list; request i sends only drop_after[i] body bytes then closes the
        connection (None or a missing entry = send everything).
    status: answer this HTTP status (with a short body) instead of the file.
    ignore_range: answer 200 with the whole file even when a Range header is present.
    delay_s: sleep before answering (timeouts). chunk_delay_s: sleep between 64 KiB body chunks.
    """

    data: bytes
    drop_after: list[int | None] = field(default_factory=list)
    status: int | None = None
    ignore_range: bool = False
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0


class FileServer:
    """Serves `files` on 127.0.0.1 in a background thread; records (path, Range header) of each GET."""

    def __init__(self) -> None:
        self.files: dict[str, Behaviour] = {}
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # silence stderr
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                server._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        name = h.path.lstrip("/")
        rng = h.headers.get("Range")
        index = sum(1 for p, _ in self.requests if p == name)
        self.requests.append((name, rng))
        b = self.files.get(name)
        if b is None:
            self._send_status(h, 404)
            return
        if b.delay_s:
            time.sleep(b.delay_s)
        if b.status is not None:
            self._send_status(h, b.status)
            return
        start = 0
        if rng and not b.ignore_range and rng.startswith("bytes="):
            start = int(rng[len("bytes="):].split("-", 1)[0])
            if start >= len(b.data):
                h.send_response(416)
                h.send_header("Content-Range", f"bytes */{len(b.data)}")
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{len(b.data) - 1}/{len(b.data)}")
        else:
            h.send_response(200)
        body = b.data[start:]
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Accept-Ranges", "bytes")
        h.end_headers()
        limit = b.drop_after[index] if index < len(b.drop_after) else None
        if limit is not None:
            h.wfile.write(body[:limit])
            h.wfile.flush()
            h.close_connection = True
            return
        try:
            for i in range(0, len(body), 65536):
                h.wfile.write(body[i:i + 65536])
                if b.chunk_delay_s:
                    time.sleep(b.chunk_delay_s)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    @staticmethod
    def _send_status(h: BaseHTTPRequestHandler, code: int) -> None:
        msg = f"status {code}\n".encode()
        h.send_response(code)
        h.send_header("Content-Length", str(len(msg)))
        h.end_headers()
        h.wfile.write(msg)


def serve() -> Iterator[FileServer]:
    """Generator usable as a pytest fixture body: yields a running server, closes it afterwards."""
    srv = FileServer()
    try:
        yield srv
    finally:
        srv.close()
