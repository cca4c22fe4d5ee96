"""Build the double-clickable SAM Labeler: a PyInstaller onedir bundle in dist/sam-labeler/.

    python -m pip install pyinstaller        # once (the build tool is not a dependency of the app)
    python packaging/build.py                # -> dist/sam-labeler/ (about 1 GB with CPU torch)

The bundle carries the Python packages of the build environment, torch included: CPU torch by default
(`pip install torch --index-url https://download.pytorch.org/whl/cpu`), or a CUDA build of torch for
NVIDIA machines (`pip install torch --index-url https://download.pytorch.org/whl/cu126` before
building: the bundle then holds the CUDA libraries too, several GB). The script says which it bundles.

Linux: install.sh / uninstall.sh are added beside the executable (menu entry, .samlabel file type,
icons: `sam-labeler desktop install`). Windows: packaging/windows/sam-labeler.iss builds an installer
from the folder. macOS: the spec also writes "dist/SAM Labeler.app". Afterwards the script runs the
bundle's `--version` and `self-check` as a smoke test, and prints the bundle's size.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "sam-labeler.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
BUNDLE = DIST / "sam-labeler"


def torch_flavour() -> str:
    """"CPU" or "CUDA x.y" of the torch that will be bundled (or why there is none)."""
    try:
        import torch
    except ImportError:
        return "no torch installed: the bundle cannot run SAM models"
    cuda = getattr(torch.version, "cuda", None)
    return f"torch {torch.__version__}, " + (f"CUDA {cuda}" if cuda else "CPU")


def folder_size(folder: Path) -> int:
    """Bytes of every file under `folder` (links not followed)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clean", action="store_true", help="rebuild from scratch (PyInstaller's cache too)")
    parser.add_argument("--no-check", action="store_true", help="skip running the built executable")
    args = parser.parse_args(argv)
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        print("PyInstaller is missing: python -m pip install pyinstaller", file=sys.stderr)
        return 1
    print(f"bundling {torch_flavour()}")
    t0 = time.monotonic()
    cmd = [sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm", "--distpath", str(DIST),
           "--workpath", str(WORK), "--log-level", "WARN"]
    if args.clean:
        cmd.append("--clean")
    subprocess.run(cmd, cwd=ROOT, check=True)
    if sys.platform.startswith("linux"):
        for script in ("install.sh", "uninstall.sh"):
            shutil.copy2(ROOT / "packaging" / "linux" / script, BUNDLE / script)
    exe = BUNDLE / ("sam-labeler-cli.exe" if os.name == "nt" else "sam-labeler")
    print(f"built {BUNDLE} in {time.monotonic() - t0:.0f} s: {folder_size(BUNDLE) / 1e6:.0f} MB")
    if not args.no_check:
        subprocess.run([str(exe), "--version"], check=True)
        check = subprocess.run([str(exe), "self-check"], env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
        print(f"self-check exit code {check.returncode}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
