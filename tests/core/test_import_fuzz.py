"""Hostile annotation files: huge coordinates and ids of the wrong type are refused per item with a
reason (issue 8, defects 2 and 5), and a hypothesis fuzz of both importers (tests/core/
fuzz_importers.py) runs in a child process under an address-space limit: a crash (pycocotools
segfaulted on 1e308 coordinates) or a runaway allocation (4e8 grew to 23 GB) fails the test."""
from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.formats import import_coco
from app.core.project import Project

ROOT = Path(__file__).resolve().parents[2]
IMAGE = ROOT / "tests" / "data" / "interop" / "images" / "street.png"
LIMIT = 3 << 30  # address space of the child: far above a normal import, far below 23 GB


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def _import_in_child(tmp_path: Path, annotation: dict) -> subprocess.CompletedProcess:
    """Import one COCO annotation in a child process limited to LIMIT bytes of address space."""
    import shutil

    shutil.copy(IMAGE, tmp_path / "street.png")
    doc = {"images": [{"id": 1, "file_name": "street.png", "width": 64, "height": 48}],
           "categories": [{"id": 1, "name": "a"}], "annotations": [annotation]}
    (tmp_path / "c.json").write_text(json.dumps(doc), encoding="utf-8")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path;"
            "from app.core.formats import import_coco; from app.core.project import Project;"
            "p = Project.create(Path(sys.argv[2]) / 'p.samlabel');"
            "r = import_coco(p, Path(sys.argv[2]) / 'c.json'); print(r.annotations, r.skipped); p.close()")
    return subprocess.run([sys.executable, "-c", code, str(ROOT), str(tmp_path)], capture_output=True, text=True,
                          timeout=300, preexec_fn=_limited)


@pytest.mark.parametrize("coords", [[1e308, 0.0, 5.0, 5.0, 0.0, 5.0], [4e8, 4e8, -4e8, 4e8, 0.0, -4e8],
                                    [-1e9, 1.0, 5.0, 1.0, 5.0, 5.0]])
def test_huge_polygon_coordinates_are_skipped_not_rasterised(tmp_path: Path, coords: list[float]) -> None:
    done = _import_in_child(tmp_path, {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [coords]})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("0 [") and "far outside the 64x48 image" in done.stdout


def test_ids_of_the_wrong_type_and_huge_integers_are_skipped_with_a_reason(tmp_path: Path) -> None:
    import shutil

    shutil.copy(IMAGE, tmp_path / "street.png")
    doc = {"images": [{"id": 1, "file_name": "street.png", "width": 64, "height": 48},
                      {"id": [2], "file_name": "x.png", "width": 1, "height": 1}],
           "categories": [{"id": {"a": 1}, "name": "bad"}, {"id": 1, "name": "a"}],
           "annotations": [{"id": 1, "image_id": [1], "category_id": 1, "segmentation": [[1, 1, 5, 1, 5, 5]]},
                           {"id": 2, "image_id": 1, "category_id": [1], "segmentation": [[1, 1, 5, 1, 5, 5]]},
                           {"id": 3, "image_id": 1, "category_id": 1, "score": 10 ** 400, "iscrowd": 10 ** 30,
                            "segmentation": [[1, 1, 9, 1, 9, 9]]}]}
    (tmp_path / "c.json").write_text(json.dumps(doc), encoding="utf-8")
    with Project.create(tmp_path / "p.samlabel") as p:
        report = import_coco(p, tmp_path / "c.json")
        assert report.annotations == 1
        reasons = dict(report.skipped)
        assert any("its image_id is not an id" in r for r in reasons.values())
        assert any("category_id" in r for r in reasons.values())
        assert any("no valid id" in r for r in reasons.values()) and any("not an object with an id" in r
                                                                        for r in reasons.values())
        ann = p.annotations(p.images()[0].id)[0]
        assert ann.score is None and ann.extra["coco"]["iscrowd"] == 10 ** 30  # kept as written


def test_fuzzed_documents_import_cleanly_or_fail_with_one_format_error() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "core" / "fuzz_importers.py"), "--examples", "200",
                           "--seed", "20261203"], capture_output=True, text=True, timeout=900, preexec_fn=_limited)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), (done.stdout[-3000:], done.stderr[-3000:])
