"""Device selection and the device self-check: what runs where, and why.

`resolve_device("auto")` picks CUDA, then Apple MPS, then the CPU. `device_report()` explains the
choice, including the classic trap of an NVIDIA GPU on a machine whose torch build has no CUDA.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import torch

from sam_backend.errors import SamBackendError

_DEVICE_RE = re.compile(r"^(cpu|mps|cuda)(?::(\d+))?$")
_HELP = "use auto, cpu, cuda, cuda:N or mps"


@dataclass(frozen=True)
class GpuInfo:
    """One GPU: index (CUDA ordinal), name, total memory in bytes (None if unknown), source of the fact
    ("torch" when torch can use it, "nvidia-smi" when only the driver sees it)."""

    index: int
    name: str
    total_memory_bytes: int | None
    source: str


@dataclass(frozen=True)
class DeviceReport:
    """Facts for the self-check.

    build: "CPU-only", "CUDA 12.6" or "ROCm 6.2". auto_device: what resolve_device("auto") returns,
    as a string. reason: one sentence saying why (with the fix when a GPU is present but unusable).
    """

    torch_version: str
    build: str
    cuda_available: bool
    mps_available: bool
    nvidia_driver_detected: bool
    gpus: tuple[GpuInfo, ...]
    auto_device: str
    reason: str
    cpu_threads: int


def _cuda_available() -> bool:
    try:
        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken CUDA install must not crash the self-check
        return False


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    try:
        return bool(mps is not None and mps.is_available())
    except Exception:  # noqa: BLE001
        return False


def _build() -> str:
    hip = getattr(torch.version, "hip", None)
    if hip:
        return f"ROCm {hip}"
    if torch.version.cuda:
        return f"CUDA {torch.version.cuda}"
    return "CPU-only"


def _nvidia_smi_path() -> str | None:
    return shutil.which("nvidia-smi")


def _nvidia_proc_present() -> bool:
    return Path("/proc/driver/nvidia").exists()


def _query_nvidia_smi(exe: str) -> list[GpuInfo]:
    """GPUs listed by nvidia-smi (empty when it fails, e.g. driver/library mismatch)."""
    try:
        out = subprocess.run(
            [exe, "--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3 and parts[0].isdigit():
            mem = int(float(parts[2]) * 1024 * 1024) if parts[2].replace(".", "", 1).isdigit() else None
            gpus.append(GpuInfo(int(parts[0]), parts[1], mem, "nvidia-smi"))
    return gpus


def _torch_gpus() -> list[GpuInfo]:
    gpus = []
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        gpus.append(GpuInfo(i, props.name, int(props.total_memory), "torch"))
    return gpus


def resolve_device(spec: str | None = "auto") -> torch.device:
    """Turn "auto" | "cpu" | "cuda" | "cuda:N" | "mps" into a torch.device that works here.

    auto: the first CUDA device, else MPS, else the CPU. An explicit device that is unavailable raises
    SamBackendError with one sentence saying why and what to do.
    """
    text = (spec or "auto").strip().lower()
    if text == "auto":
        if _cuda_available():
            return torch.device("cuda", 0)
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    match = _DEVICE_RE.match(text)
    if match is None:
        raise SamBackendError(f"unknown device {spec!r}: {_HELP}")
    kind, index = match.group(1), match.group(2)
    if kind == "cpu":
        if index not in (None, "0"):
            raise SamBackendError(f"unknown device {spec!r}: {_HELP}")
        return torch.device("cpu")
    if kind == "mps":
        if not _mps_available():
            raise SamBackendError("device 'mps' is not available: it needs an Apple-silicon Mac with a torch "
                                  "build that supports MPS; use --device cpu or auto")
        return torch.device("mps")
    if not _cuda_available():
        if _build() == "CPU-only":
            raise SamBackendError(f"device {text!r} is not available: this torch build has no CUDA support; "
                                  "install a CUDA build of torch (see README) or use --device cpu")
        raise SamBackendError(f"device {text!r} is not available: torch finds no usable NVIDIA GPU "
                              "(driver missing or too old, or CUDA_VISIBLE_DEVICES hides it); use --device cpu")
    count = torch.cuda.device_count()
    n = int(index) if index is not None else 0
    if n >= count:
        raise SamBackendError(f"device {text!r} does not exist: this machine has {count} CUDA device(s), "
                              f"cuda:0 to cuda:{count - 1}")
    return torch.device("cuda", n)


def device_report() -> DeviceReport:
    """Collect the facts of the self-check (torch build, GPUs, the auto choice and why)."""
    build = _build()
    cuda = _cuda_available()
    mps = _mps_available()
    smi = _nvidia_smi_path()
    nvidia = smi is not None or _nvidia_proc_present()
    gpus = _torch_gpus() if cuda else (_query_nvidia_smi(smi) if smi else [])
    threads = torch.get_num_threads()
    auto = str(resolve_device("auto"))
    if cuda:
        g = gpus[0] if gpus else None
        what = f"{g.name}, {_gib(g.total_memory_bytes)}" if g else "GPU 0"
        reason = f"CUDA is available ({build}): using cuda:0 ({what})"
    elif mps:
        reason = "Apple GPU available through MPS: using mps"
    elif nvidia and build == "CPU-only":
        seen = "nvidia-smi found" if smi else "/proc/driver/nvidia present"
        reason = (f"NVIDIA GPU present ({seen}) but this torch build has no CUDA: install a CUDA build of torch, "
                  f"see README; running on the CPU with {threads} threads")
    elif nvidia:
        hidden = os.environ.get("CUDA_VISIBLE_DEVICES")
        why = (f"CUDA_VISIBLE_DEVICES={hidden!r} hides it" if hidden is not None and hidden.strip() in ("", "-1")
               else "the driver may be too old for this torch build or not loaded")
        reason = (f"NVIDIA GPU present but torch ({build}) cannot use it: {why}; "
                  f"running on the CPU with {threads} threads")
    elif build != "CPU-only":
        reason = f"this torch build supports {build} but no GPU or driver was found: running on the CPU with {threads} threads"
    else:
        reason = f"no GPU found: running on the CPU with {threads} threads"
    return DeviceReport(torch.__version__, build, cuda, mps, nvidia, tuple(gpus), auto, reason, threads)


def format_report(report: DeviceReport) -> str:
    """Human-readable multi-line text of a DeviceReport (for `sam-labeler self-check`)."""
    rows = [
        ("torch", f"{report.torch_version} ({report.build} build)"),
        ("CUDA", "available" if report.cuda_available else "not available"),
        ("MPS", "available" if report.mps_available else "not available"),
        ("NVIDIA driver", "detected" if report.nvidia_driver_detected else "not detected"),
    ]
    for g in report.gpus:
        usable = "usable by torch" if g.source == "torch" else "seen by nvidia-smi only"
        rows.append((f"GPU {g.index}", f"{g.name}, {_gib(g.total_memory_bytes)} ({usable})"))
    if not report.gpus:
        rows.append(("GPUs", "none visible"))
    rows.append(("CPU threads", str(report.cpu_threads)))
    rows.append(("device", f"{report.auto_device} - {report.reason}"))
    return "\n".join(f"{label + ':':<15}{value}" for label, value in rows)


def _gib(n: int | None) -> str:
    return "memory unknown" if n is None else f"{n / 2**30:.1f} GiB"
