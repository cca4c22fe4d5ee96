"""Start-up time as a person sees it: from the double-click (or the command) to the first image on screen.

    # under an X server (Xvfb :99 works), after `sam-labeler desktop install` / the bundle's install.sh:
    DISPLAY=:99 python benchmarks/bench_startup.py --open xdg-open [--runs 3] [--lang zh_CN]
    DISPLAY=:99 python benchmarks/bench_startup.py --open "dist/sam-labeler/sam-labeler"
    DISPLAY=:99 python benchmarks/bench_startup.py --open "python -m app"

A project with one 1600x1200 image of a distinctive colour is created; the command is run with the
project file as its last argument (`xdg-open P.samlabel` is what a double-click runs); the screen is
grabbed every few milliseconds (QScreen.grabWindow from this process) until that colour covers a good part
of it: that moment is "first image". Also reported: when the window appeared (first frame that differs
from the empty screen). The app is closed between runs (SIGTERM to the process group, then the next run
starts cold except for the OS file cache: run 1 is the coldest). Prints JSON; not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

COLOUR = (201, 23, 187)  # RGB of the test image: never part of the UI


def make_project(folder: Path) -> Path:
    """A project with one image filled with COLOUR (a few stripes so that it is not a flat file)."""
    from PIL import Image

    from app.core.project import Project

    folder.mkdir(parents=True, exist_ok=True)
    arr = np.empty((1200, 1600, 3), np.uint8)
    arr[:] = COLOUR
    arr[::40] = (COLOUR[0] - 10, COLOUR[1], COLOUR[2])
    Image.fromarray(arr).save(folder / "frame.png")
    project = Project.open_folder(folder)
    path = project.path
    project.close()
    return path


def grab() -> np.ndarray:
    """The whole screen as an (H, W, 3) uint8 RGB array."""
    from PySide6.QtGui import QGuiApplication, QImage

    screen = QGuiApplication.primaryScreen()
    img = screen.grabWindow(0).toImage().convertToFormat(QImage.Format.Format_RGB888)
    h, w = img.height(), img.width()
    return np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h).reshape(h, -1)[:, :w * 3] \
        .reshape(h, w, 3).copy()


def colour_fraction(frame: np.ndarray) -> float:
    """Share of the screen showing the test image's colour (±12 per channel: scaling blends stripes)."""
    diff = np.abs(frame.astype(np.int16) - np.array(COLOUR, np.int16)).max(axis=2)
    return float((diff <= 12).mean())


def one_run(command: list[str], project: Path, env: dict[str, str], timeout_s: float) -> dict[str, float]:
    """Start `command project`; return ms to the window's first frame and to the first image."""
    empty = grab()
    t0 = time.perf_counter()
    proc = subprocess.Popen([*command, str(project)], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    window_ms = image_ms = float("nan")
    try:
        while time.perf_counter() - t0 < timeout_s:
            frame = grab()
            now = (time.perf_counter() - t0) * 1000
            if np.isnan(window_ms) and (frame != empty).any():
                window_ms = now
            if colour_fraction(frame) > 0.05:
                image_ms = now
                break
            time.sleep(0.005)
    finally:
        _stop(proc)
    return {"window_ms": round(window_ms, 1), "first_image_ms": round(image_ms, 1)}


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End what the command started: xdg-open returns at once, the app lives on in the same session."""
    time.sleep(0.3)
    for pid in _session_pids(proc.pid):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    time.sleep(1.0)


def _session_pids(sid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if os.getsid(int(d.name)) == sid:
                    out.append(int(d.name))
            except (ProcessLookupError, PermissionError):
                pass
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open", default="xdg-open", help="command run with the project as last argument")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lang", default=None, help="LANG for the started app (e.g. zh_CN: system locale)")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        print("needs an X display (e.g. Xvfb :99 and DISPLAY=:99)", file=sys.stderr)
        return 1
    from PySide6.QtGui import QGuiApplication

    os.environ.pop("QT_QPA_PLATFORM", None)
    _app = QGuiApplication(sys.argv[:1])
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    if args.lang:
        env.update(LANG=f"{args.lang}.UTF-8", LANGUAGE=args.lang, LC_ALL=f"{args.lang}.UTF-8")
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        env.setdefault("SAM_LABELER_HOME", str(Path(tmp) / "home"))
        project = make_project(Path(tmp) / "startup")
        runs = [one_run(shlex.split(args.open), project, env, args.timeout) for _ in range(args.runs)]
    load = os.getloadavg()
    print(json.dumps({
        "command": args.open, "runs": runs,
        "first_image_ms_median": statistics.median(r["first_image_ms"] for r in runs),
        "window_ms_median": statistics.median(r["window_ms"] for r in runs),
        "load_average": [round(x, 2) for x in load], "cpus": os.cpu_count(),
    }, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
