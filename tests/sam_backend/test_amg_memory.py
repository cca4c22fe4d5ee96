"""Memory stays bounded: a 12 MP image with an 8 x 8 grid (192 candidates, all passing the
filters) never holds the candidates' full-resolution logits or masks together (~9 GB of float
logits, ~2.3 GB of masks). The disc centres are snapped so that NMS leaves few masks to output."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import resource, numpy as np
    from sam_backend import AutomaticMaskGenerator
    from tests.sam_backend._amg_support import ShapeDecoder
    image = np.zeros((3000, 4000, 3), np.uint8)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for decoder in (ShapeDecoder(radii=(20.0, 60.0, 120.0), snap=128.0), ShapeDecoder(noise=0.3, radii=(20.0, 60.0, 120.0), snap=128.0)):
        records = AutomaticMaskGenerator(decoder, points_per_side=8, pred_iou_thresh=0.0, stability_score_thresh=0.0,
                                         output_mode="coco_rle").generate(image)
        assert decoder.decoded_points == 64 and len(records) > 0
    print(len(records), (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)
    """
)


def test_peak_memory_of_a_12mp_run_is_bounded() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""})
    records, grown_mb = (int(v) for v in out.stdout.split())
    assert grown_mb < 1000, f"peak memory grew by {grown_mb} MB"
