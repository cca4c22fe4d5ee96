"""A local HTTP server on 127.0.0.1 answering the hub endpoints huggingface_hub's snapshot_download uses.

Endpoints (as huggingface_hub calls them; HF_ENDPOINT / ``endpoint=`` points at this server):
    GET  /api/models/<org>/<name>/revision/<rev>      repo info: {"id", "sha", "siblings"}
    GET  /api/models/<org>/<name>/tree/<commit>       file listing: [{"type": "file", "path", "size", "oid"}]
    HEAD /<org>/<name>/resolve/<rev>/<file>           X-Repo-Commit, ETag, Content-Length
    GET  /<org>/<name>/resolve/<rev>/<file>           the bytes (Range requests honoured)
Not a test module; used by tests/sam_backend/test_hub.py and tests/e2e/test_cli_hub.py.
"""
from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import unquote, urlsplit


@dataclass
class Repo:
    """files: name -> bytes; commit: the 40-hex commit every revision resolves to.
    drop_after: file -> per-GET list of body byte counts after which the connection is closed."""

    files: dict[str, bytes]
    commit: str = "0123456789abcdef0123456789abcdef01234567"
    drop_after: dict[str, list[int | None]] = field(default_factory=dict)


class HubServer:
    """Serves ``repos`` (repo id -> Repo) in a background thread; records (method, path, Range) of each request."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self._gets: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                server._handle(self, "GET")

            def do_HEAD(self) -> None:  # noqa: N802
                server._handle(self, "HEAD")

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

    def _reply(self, h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str],
               send_body: bool = True) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", headers.get("Content-Length", str(len(body))))
        h.end_headers()
        if send_body:
            h.wfile.write(body)

    def _json(self, h: BaseHTTPRequestHandler, obj: object, method: str) -> None:
        self._reply(h, 200, json.dumps(obj).encode(), {"Content-Type": "application/json"}, method == "GET")

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        path = unquote(urlsplit(h.path).path)
        self.requests.append((method, path, h.headers.get("Range")))
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"] and len(parts) >= 6:
            repo = self.repos.get(f"{parts[2]}/{parts[3]}")
            if repo is None:
                self._reply(h, 404, b'{"error": "Repository not found"}', {"X-Error-Code": "RepoNotFound"})
                return
            if parts[4] == "revision":
                self._json(h, {"id": f"{parts[2]}/{parts[3]}", "sha": repo.commit,
                               "siblings": [{"rfilename": n} for n in repo.files]}, method)
                return
            if parts[4] == "tree":
                self._json(h, [{"type": "file", "path": n, "size": len(d), "oid": hashlib.sha1(d).hexdigest()}
                               for n, d in repo.files.items()], method)
                return
        if len(parts) >= 5 and parts[2] == "resolve":
            repo = self.repos.get(f"{parts[0]}/{parts[1]}")
            name = "/".join(parts[4:])
            if repo is None or name not in repo.files:
                self._reply(h, 404, b"not found", {"X-Error-Code": "EntryNotFound"})
                return
            self._file(h, method, repo, name)
            return
        self._reply(h, 404, b"not found", {})

    def _file(self, h: BaseHTTPRequestHandler, method: str, repo: Repo, name: str) -> None:
        data = repo.files[name]
        headers = {"X-Repo-Commit": repo.commit, "ETag": f'"{hashlib.sha1(data).hexdigest()}"',
                   "Accept-Ranges": "bytes"}
        if method == "HEAD":
            headers["Content-Length"] = str(len(data))
            self._reply(h, 200, b"", headers, send_body=False)
            return
        start = 0
        rng = h.headers.get("Range")
        if rng and rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0] or 0)
        body = data[start:]
        status = 206 if start else 200
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        key = f"{repo.commit}/{name}"
        i = self._gets.get(key, 0)
        self._gets[key] = i + 1
        drops = repo.drop_after.get(name, [])
        cut = drops[i] if i < len(drops) else None
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if cut is None:
            h.wfile.write(body)
            return
        h.wfile.write(body[:cut])
        h.wfile.flush()
        h.close_connection = True
        with __import__("contextlib").suppress(OSError):
            h.connection.shutdown(2)


def serve() -> Iterator[HubServer]:
    """Fixture body: a running server, closed afterwards."""
    srv = HubServer()
    try:
        yield srv
    finally:
        srv.close()
