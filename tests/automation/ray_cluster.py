"""A real Ray cluster on 127.0.0.1 for the tests and the benchmark: a head without CPUs (so that
work lands on the workers) and N worker nodes with one CPU each, each started by `ray start --block`
in its own session and stopped by its process id (never `ray stop`, which stops every Ray on the
machine). The nodes get this source tree on PYTHONPATH, as an installed sam-labeler would be."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OBJECT_STORE = 80 * 2**20  # Ray's minimum is about 75 MiB


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ray_cli() -> list[str]:
    return [sys.executable, "-c", "import sys; from ray.scripts.scripts import main; sys.exit(main())"]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


class LocalCluster:
    """Head + ``workers`` nodes on 127.0.0.1; ``address`` for ray.init; ``stop()`` ends them all."""

    def __init__(self, workers: int = 2, cpus_per_node: int = 1) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short: Ray's socket paths are limited
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]),
            RAY_USAGE_STATS_ENABLED="0")
        self.nodes: list[subprocess.Popen[bytes]] = []
        common = ["--node-ip-address", "127.0.0.1", "--object-store-memory", str(OBJECT_STORE),
                  "--disable-usage-stats", "--block"]
        try:
            self._start(["--head", "--port", str(self.port), "--num-cpus", "0", "--include-dashboard", "false",
                         "--temp-dir", str(self.tmp)] + common, "head")
            self._wait("head")
            for i in range(workers):
                self._start(["--address", self.address, "--num-cpus", str(cpus_per_node)] + common, f"w{i}")
                self._wait(f"w{i}")  # one at a time: nodes started together time out on a busy machine
        except BaseException:
            self.stop()
            raise

    def _start(self, args: list[str], name: str) -> None:
        log = open(self.tmp / f"{name}.log", "wb")
        self.nodes.append(subprocess.Popen(_ray_cli() + ["start"] + args, env=self.env, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True))

    def _wait(self, name: str, timeout: float = 120.0) -> None:
        """Until node ``name``'s `ray start` says it is up (it then blocks)."""
        log = self.tmp / f"{name}.log"
        end = time.monotonic() + timeout
        while b"will now block forever" not in log.read_bytes():
            if self.nodes[-1].poll() is not None:
                raise RuntimeError(f"Ray node {name} exited ({self.nodes[-1].returncode}): "
                                   f"{log.read_text(errors='replace')[-800:]}")
            if time.monotonic() > end:
                raise RuntimeError(f"Ray node {name} did not start in {timeout:.0f} s; see {log}")
            time.sleep(0.2)

    def worker_pids(self, title: str) -> list[int]:
        """Process ids of this cluster's worker processes whose title starts with ``title``
        (e.g. "ray::MapWorker"), found among the descendants of the nodes this object started."""
        return [pid for pid in self._descendants() if _cmdline(pid).startswith(title)]

    def _descendants(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(entry.name))
        out: list[int] = []
        todo = [p.pid for p in self.nodes]
        while todo:
            kids = children.get(todo.pop(), [])
            out.extend(kids)
            todo.extend(kids)
        return out

    def stop(self) -> None:
        """SIGKILL every process of the nodes this object started (their descendants, then the
        `ray start` processes): a test cluster needs no draining (SIGTERM drains for 20-30 s)."""
        for pid in self._descendants() + [p.pid for p in self.nodes]:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for p in self.nodes:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.nodes.clear()
        if os.environ.get("SAM_KEEP_RAY_TMP") is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
