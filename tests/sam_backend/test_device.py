"""Device resolution and the self-check report, with CUDA/MPS/nvidia-smi facts faked where needed."""
from __future__ import annotations

import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from sam_backend import device
from sam_backend.errors import SamBackendError


@pytest.fixture
def cpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device, "_cuda_available", lambda: False)
    monkeypatch.setattr(device, "_mps_available", lambda: False)
    monkeypatch.setattr(device, "_build", lambda: "CPU-only")
    monkeypatch.setattr(device, "_nvidia_smi_path", lambda: None)
    monkeypatch.setattr(device, "_nvidia_proc_present", lambda: False)


@pytest.fixture
def two_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device, "_cuda_available", lambda: True)
    monkeypatch.setattr(device, "_build", lambda: "CUDA 12.6")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_properties",
                        lambda i: SimpleNamespace(name=f"Fake GPU {i}", total_memory=8 * 2**30))


def test_auto_on_cpu_only(cpu_only: None) -> None:
    assert device.resolve_device("auto") == torch.device("cpu")
    assert device.resolve_device(None) == torch.device("cpu")
    assert device.resolve_device(" CPU ") == torch.device("cpu")


def test_auto_prefers_cuda_then_mps(monkeypatch: pytest.MonkeyPatch, cpu_only: None) -> None:
    monkeypatch.setattr(device, "_mps_available", lambda: True)
    assert device.resolve_device("auto") == torch.device("mps")
    monkeypatch.setattr(device, "_cuda_available", lambda: True)
    assert device.resolve_device("auto") == torch.device("cuda", 0)


def test_cuda_on_cpu_build_says_install_cuda_torch(cpu_only: None) -> None:
    with pytest.raises(SamBackendError, match="this torch build has no CUDA support; install a CUDA build"):
        device.resolve_device("cuda")


def test_cuda_on_cuda_build_without_gpu(cpu_only: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device, "_build", lambda: "CUDA 12.6")
    with pytest.raises(SamBackendError, match="no usable NVIDIA GPU"):
        device.resolve_device("cuda:0")


def test_cuda_index_checked(two_gpus: None) -> None:
    assert device.resolve_device("cuda:1") == torch.device("cuda", 1)
    assert device.resolve_device("cuda") == torch.device("cuda", 0)
    with pytest.raises(SamBackendError, match="2 CUDA device"):
        device.resolve_device("cuda:2")


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "cpu:1", "tpu", "cuda:-1"])
def test_unknown_device_strings(bad: str) -> None:
    with pytest.raises(SamBackendError, match="unknown device .* use auto, cpu, cuda, cuda:N or mps"):
        device.resolve_device(bad)


def test_mps_unavailable(cpu_only: None) -> None:
    with pytest.raises(SamBackendError, match="'mps' is not available"):
        device.resolve_device("mps")


def test_report_nvidia_gpu_with_cpu_torch(cpu_only: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho '0, NVIDIA GeForce RTX 4090, 24564'\n")
    smi.chmod(smi.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(device, "_nvidia_smi_path", lambda: str(smi))
    report = device.device_report()
    assert report.auto_device == "cpu" and report.nvidia_driver_detected
    assert report.reason.startswith("NVIDIA GPU present (nvidia-smi found) but this torch build has no CUDA: "
                                    "install a CUDA build of torch, see README")
    assert report.gpus == (device.GpuInfo(0, "NVIDIA GeForce RTX 4090", 24564 * 2**20, "nvidia-smi"),)
    text = device.format_report(report)
    assert "NVIDIA GeForce RTX 4090, 24.0 GiB (seen by nvidia-smi only)" in text
    assert "CPU-only build" in text


def test_report_proc_driver_only(cpu_only: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device, "_nvidia_proc_present", lambda: True)
    report = device.device_report()
    assert "/proc/driver/nvidia present" in report.reason and report.gpus == ()


def test_report_cuda_build_gpu_hidden(cpu_only: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device, "_build", lambda: "CUDA 12.6")
    monkeypatch.setattr(device, "_nvidia_proc_present", lambda: True)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert "CUDA_VISIBLE_DEVICES='' hides it" in device.device_report().reason


def test_report_with_usable_gpus(two_gpus: None) -> None:
    report = device.device_report()
    assert report.auto_device == "cuda:0" and report.cuda_available
    assert [g.name for g in report.gpus] == ["Fake GPU 0", "Fake GPU 1"]
    assert "CUDA is available (CUDA 12.6): using cuda:0 (Fake GPU 0, 8.0 GiB)" == report.reason
    assert "GPU 1:" in device.format_report(report)


def test_report_plain_cpu(cpu_only: None) -> None:
    report = device.device_report()
    assert report.reason == f"no GPU found: running on the CPU with {torch.get_num_threads()} threads"
    assert "none visible" in device.format_report(report)


def test_real_machine_report_is_consistent() -> None:
    report = device.device_report()
    assert report.torch_version == torch.__version__
    assert report.auto_device == str(device.resolve_device("auto"))
    assert report.cuda_available == torch.cuda.is_available()
