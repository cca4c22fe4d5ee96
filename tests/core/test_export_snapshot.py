"""Issue 8, defect 3: an export reads ONE committed state of the project, even while another
process commits an import into it (the file once held 41,501 annotations of a project that went
from 40,000 to 42,000).

A writer process holds the project open for writing (like the GUI or `import`); the export runs
from a read-only view. When the export has started reading, the writer commits one more
annotation on every image and confirms; the export must contain exactly the state it started
from (N annotations, the same on every image), never a mix.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.core.formats import coco_parallel, export_coco, export_labelme
from app.core.model import Annotation, Part
from app.core.project import Project

ROOT = Path(__file__).resolve().parents[2]
IMAGES, PER_IMAGE = 170, 60  # 10 200 annotations: more than one 10 000-row read of the exporters

WRITER = """
import sys, time
from pathlib import Path
from app.core.model import Annotation, Part
from app.core.project import Project

project = Project.open(Path(sys.argv[1]))
label = project.label_classes()[0].id
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() != "go":
        break
    square = Part(exterior=((1.0, 1.0), (3.0, 1.0), (3.0, 3.0), (1.0, 3.0)))
    project.bulk_insert_annotations(Annotation(image_id=rec.id, label_id=label, parts=(square,), source="import")
                                    for rec in project.images())
    print("done", flush=True)
project.close()
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("snapshot")
    tiny = Image.fromarray(np.zeros((8, 8, 3), np.uint8))
    project = Project.create(root / "p.samlabel")
    label = project.add_label_class("thing").id
    anns = []
    for i in range(IMAGES):
        tiny.save(root / f"im{i:03d}.png")
        rec = project.add_image(f"im{i:03d}.png", 8, 8)
        for k in range(PER_IMAGE):
            x = float(k % 6)
            part = Part(exterior=((x, 0.0), (x + 1.0, 0.0), (x + 1.0, 1.0), (x, 1.0)))
            anns.append(Annotation(image_id=rec.id, label_id=label, parts=(part,), source="manual"))
    project.bulk_insert_annotations(anns)
    project.close()
    return root


@pytest.fixture
def project_copy(template: Path, tmp_path: Path) -> Path:
    for f in template.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    return tmp_path / "p.samlabel"


class Writer:
    """The writer process: ``commit()`` makes it add one annotation per image and waits for it."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert self.proc.stdout.readline().strip() == "ready"
        self.commits = 0

    def commit(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "done"
        self.commits += 1

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


@pytest.fixture
def writer(project_copy: Path) -> Iterator[Writer]:
    w = Writer(project_copy)
    yield w
    w.close()


def _commit_once(writer: Writer):
    """A progress callback that has the writer commit once the export is under way (10 items in)."""
    def progress(done: int, total: int) -> None:
        if writer.commits == 0 and 10 <= done < total:
            writer.commit()
    return progress


def _coco_counts(path: Path) -> Counter:
    data = json.loads(path.read_text(encoding="ascii"))
    return Counter(a["image_id"] for a in data["annotations"])


def test_coco_export_is_one_snapshot(project_copy: Path, writer: Writer, tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    with Project.open(project_copy, read_only=True) as view:
        report = export_coco(view, out, masks="auto", progress=_commit_once(writer), workers=1)
    assert writer.commits == 1
    counts = _coco_counts(out)
    assert report.annotations == sum(counts.values()) == IMAGES * PER_IMAGE
    assert set(counts.values()) == {PER_IMAGE}
    with Project.open(project_copy, read_only=True) as view:
        assert view.annotation_count() == IMAGES * (PER_IMAGE + 1)  # the commit did happen


def test_parallel_coco_export_is_one_snapshot(project_copy: Path, writer: Writer, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    real = coco_parallel.parallel_chunks

    def commit_after_the_first_chunk(rows, ctx, workers, task_rows=coco_parallel.TASK_ROWS):  # noqa: ANN001
        first = True
        for chunk in real(rows, ctx, workers, task_rows=500):
            if first:
                writer.commit()  # the export is under way: most rows are still to be read
                first = False
            yield chunk

    monkeypatch.setattr(coco_parallel, "parallel_chunks", commit_after_the_first_chunk)
    out = tmp_path / "c.json"
    with Project.open(project_copy, read_only=True) as view:
        report = export_coco(view, out, masks="auto", workers=2)
    assert writer.commits == 1
    counts = _coco_counts(out)
    assert report.annotations == sum(counts.values()) == IMAGES * PER_IMAGE
    assert set(counts.values()) == {PER_IMAGE}


def test_labelme_export_is_one_snapshot(project_copy: Path, writer: Writer, tmp_path: Path) -> None:
    out = tmp_path / "labels"
    with Project.open(project_copy, read_only=True) as view:
        report = export_labelme(view, out, masks="polygon", progress=_commit_once(writer))
    assert writer.commits == 1
    per_file = {p.name: len(json.loads(p.read_text(encoding="utf-8"))["shapes"]) for p in out.glob("*.json")}
    assert len(per_file) == IMAGES and set(per_file.values()) == {PER_IMAGE}
    assert report.annotations == IMAGES * PER_IMAGE


def test_a_snapshot_refuses_writes_and_ends_cleanly(project_copy: Path) -> None:
    from app.core.errors import ProjectError

    with Project.open(project_copy) as project:
        with project.read_snapshot():
            with pytest.raises(ProjectError, match="inside a read snapshot"):
                project.add_label_class("nope")
        assert not project.conn.in_transaction
        project.add_label_class("after")  # writable again once the snapshot ended
        assert project.label_by_name("after") is not None
