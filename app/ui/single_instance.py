"""One running SAM Labeler per user: a project opened from the desktop (double-click, `xdg-open`) while the
app runs is handed to the running window instead of starting a second process.

The first GUI process listens on a local socket (QLocalServer; a Unix socket in XDG_RUNTIME_DIR or the
temp folder, readable by this user only; a named pipe on Windows). A later start with a path first tries
`send(path)`: when a running instance acknowledges it, the later process exits at once. The name
includes the user and the data root (SAM_LABELER_HOME), so test runs and separate data roots never talk
to each other. A socket file left by a crashed process is detected (nobody answers) and replaced.

Protocol: one JSON object per connection, `{"open": "/absolute/path"}` + newline; the answer is `ok`
+ newline. Requests are capped at MAX_REQUEST bytes; anything else is ignored.
"""
from __future__ import annotations

import getpass
import hashlib
import json
import os
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

MAX_REQUEST = 64 * 1024
TIMEOUT_MS = 1500


def server_name() -> str:
    """The socket name of this user and data root (a full path on Unix, a pipe name on Windows)."""
    from app.services.models import data_root

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    digest = hashlib.sha1(f"{user}\0{data_root()}".encode("utf-8", "surrogateescape")).hexdigest()[:16]
    name = f"sam-labeler-{digest}"
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if sys.platform != "win32" and runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK):
        return str(Path(runtime) / name)
    return name


def send(path: str | os.PathLike[str], name: str | None = None, timeout_ms: int = TIMEOUT_MS) -> bool:
    """Ask a running instance to open `path` (made absolute); True when it acknowledged the request."""
    sock = QLocalSocket()
    sock.connectToServer(name or server_name())
    if not sock.waitForConnected(timeout_ms):
        return False
    request = json.dumps({"open": str(Path(path).expanduser().absolute())}) + "\n"
    sock.write(request.encode("utf-8"))
    if not sock.waitForBytesWritten(timeout_ms):
        return False
    answer = b""
    while b"\n" not in answer and sock.waitForReadyRead(timeout_ms):
        answer += bytes(sock.readAll().data())
    sock.disconnectFromServer()
    return answer.strip() == b"ok"


class InstanceServer(QObject):
    """Listens for `send` requests of later starts; emits `openRequested(path)` for each."""

    openRequested = Signal(str)

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name or server_name()
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)

    def listen(self) -> bool:
        """Start listening; False when another live instance already listens (this one then serves nobody).
        A socket file left by a crashed instance (nobody answers) is replaced."""
        probe = QLocalSocket()
        probe.connectToServer(self.name)
        if probe.waitForConnected(300):  # (listen() alone would take the name over: Qt renames its socket
            probe.disconnectFromServer()  # file into place when access options are set)
            return False
        QLocalServer.removeServer(self.name)
        return self._server.listen(self.name)

    def is_listening(self) -> bool:
        """True while this process is the one that receives requests."""
        return self._server.isListening()

    def close(self) -> None:
        """Stop listening (the socket file is removed)."""
        self._server.close()

    def _accept(self) -> None:
        while self._server.hasPendingConnections():
            sock = self._server.nextPendingConnection()  # a child of the server: deleted with it at the latest
            sock.readyRead.connect(self._read)
            sock.disconnected.connect(sock.deleteLater)

    def _read(self) -> None:
        sock = self.sender()
        if not isinstance(sock, QLocalSocket):
            return
        data = bytes(sock.property("request") or b"") + bytes(sock.readAll().data())
        if len(data) > MAX_REQUEST:
            sock.abort()
            return
        if b"\n" not in data:
            sock.setProperty("request", data)
            return
        sock.setProperty("request", b"")
        try:
            request = json.loads(data.split(b"\n", 1)[0].decode("utf-8"))
            path = request.get("open") if isinstance(request, dict) else None
        except ValueError:
            path = None
        if isinstance(path, str) and path:
            sock.write(b"ok\n")
            sock.flush()
            self.openRequested.emit(path)
        sock.disconnectFromServer()
