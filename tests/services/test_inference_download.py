"""download_model: separate thread, progress, checksum failure, cancel, decodes keep running meanwhile."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from app.services.fake_predictor import FakePredictor
from app.services.prompts import PromptSet

SIZE = 256 * 1024


class _Handler(BaseHTTPRequestHandler):
    delay = 0.0  # seconds between 64 KiB chunks
    size = SIZE  # bytes announced and sent

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        if not self.path.endswith("/mobile_sam.pt"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(self.size))
        self.end_headers()
        try:
            for _ in range(self.size // 65536):
                self.wfile.write(b"x" * 65536)
                self.wfile.flush()
                time.sleep(self.delay)
        except (BrokenPipeError, ConnectionResetError):
            return

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def mirror(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Handler]]:
    handler = type("H", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    monkeypatch.setenv("SAM_LABELER_MODEL_MIRROR", f"http://127.0.0.1:{server.server_address[1]}")
    yield handler
    server.shutdown()
    server.server_close()
    t.join(5)


def test_download_checksum_failure_is_reported(qtbot, make_service, mirror) -> None:
    svc = make_service(None)
    prog: list = []
    svc.progress.connect(lambda *a: prog.append(a))
    with qtbot.waitSignal(svc.failed, timeout=20000) as failed:
        with qtbot.waitSignal(svc.downloadFinished, timeout=20000) as done:
            svc.download_model("mobile_sam")
    assert done.args == ["mobile_sam", False]
    assert "mobile_sam" in failed.args[0] and "checksum" in failed.args[0] and failed.args[0].endswith(".")
    got = [p for p in prog if p[0] == "Downloading mobile_sam"]
    assert any(p[1] == SIZE for p in got)  # byte progress was reported
    assert got[-1][1] == got[-1][2]  # and the job ended


def test_download_cancel_while_decodes_keep_running(qtbot, make_service, mirror, images) -> None:
    mirror.delay, mirror.size = 0.02, 1 << 26  # ~20 s for the whole file: it is still running at cancel
    fake = FakePredictor()
    svc = make_service(fake)
    prog: list = []
    svc.progress.connect(lambda *a: prog.append(a))
    svc.download_model("mobile_sam")
    qtbot.waitUntil(lambda: any(p[1] > 0 for p in prog), timeout=10000)
    with qtbot.waitSignal(svc.decodeFinished, timeout=5000):  # the download does not block the worker
        svc.encode(*images[0])
        svc.decode("k0", PromptSet().with_point(3, 3, 1))
    with qtbot.waitSignal(svc.failed, timeout=1000):
        svc.download_model("mobile_sam")  # one download at a time
    with qtbot.assertNotEmitted(svc.failed, wait=300):
        with qtbot.waitSignal(svc.downloadFinished, timeout=10000) as done:
            svc.cancel()
    assert done.args == ["mobile_sam", False]
    svc.shutdown(5.0)
    assert not svc.is_running()
