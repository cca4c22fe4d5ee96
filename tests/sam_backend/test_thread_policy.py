"""sam_backend, imported before torch, makes idle OpenMP threads sleep (OMP_WAIT_POLICY=PASSIVE)
unless the user chose a policy."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = "import os, sam_backend; print(os.environ.get('OMP_WAIT_POLICY'))"


def _policy(env_value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if env_value is not None:
        env["OMP_WAIT_POLICY"] = env_value
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_passive_by_default_and_the_users_choice_kept() -> None:
    assert _policy(None) == "PASSIVE"
    assert _policy("ACTIVE") == "ACTIVE"
