"""app.core.folder_sync: the file watcher's pass (own connection, one transaction, files being written left
for later) and app.core.thumbnails (previews of image files)."""
from __future__ import annotations

import os
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from app.core import folder_sync
from app.core.errors import ImageLoadError
from app.core.folder_sync import FolderSyncer
from app.core.images import load_image
from app.core.model import Annotation, Part
from app.core.project import Project
from app.core import thumbnails
from app.core.thumbnails import make_thumbnail


def _png(path: Path, w: int = 40, h: int = 30, value: int = 90) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((h, w, 3), value, np.uint8)).save(path)
    return path


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def _project(tmp_path: Path, names: list[str]) -> Project:
    folder = tmp_path / "photos"
    for n in names:
        _age(_png(folder / n), 60)
    return Project.open_folder(folder, project_path=tmp_path / "photos.samlabel")


def _syncer(project: Project, **kw: object) -> FolderSyncer:
    return FolderSyncer(project.path, project.root, project.image_root, **kw)  # type: ignore[arg-type]


def test_a_pass_adds_new_files_marks_removed_ones_and_lists_subfolders(tmp_path: Path) -> None:
    project = _project(tmp_path, ["a.png", "b.png"])
    a = project.image_by_path("photos/a.png")
    assert a is not None
    label = project.add_label_class("cat")
    project.add_annotation(Annotation(image_id=a.id, label_id=label.id,
                                      parts=(Part(((1.0, 1.0), (5.0, 1.0), (5.0, 5.0))),)))
    folder = project.image_root
    for n in ("sub/c.png", "sub/deeper/d.png", "e.png"):
        _age(_png(folder / n), 60)
    (folder / "a.png").unlink()
    result = _syncer(project).run_pass()
    assert (result.added, result.missing, result.returned, result.pending) == (3, 1, 0, 0)
    assert sorted(result.folders) == sorted([str(folder), str(folder / "sub"), str(folder / "sub" / "deeper")])
    # the GUI's connection sees the pass's commit
    assert [r.path for r in project.images()] == ["photos/a.png", "photos/b.png", "photos/e.png",
                                                   "photos/sub/c.png", "photos/sub/deeper/d.png"]
    assert project.image(a.id).missing and project.annotation_count(a.id) == 1  # annotations kept
    assert result.status_counts == project.status_counts() == {"new": 4, "in_progress": 1, "done": 0}
    _age(_png(folder / "a.png"), 60)
    back = _syncer(project).run_pass()
    assert (back.added, back.missing, back.returned) == (0, 0, 1) and not project.image(a.id).missing
    unchanged = _syncer(project).run_pass()
    assert not unchanged.changed() and unchanged.status_counts is None
    project.close()


def test_files_still_being_written_wait_for_a_later_pass(tmp_path: Path) -> None:
    project = _project(tmp_path, ["a.png"])
    now = [time.time()]
    syncer = _syncer(project, settle_s=5.0, clock=lambda: now[0])
    growing = project.image_root / "growing.png"
    growing.write_bytes(b"\x89PNG\r\n\x1a\n")  # the first bytes of a copy
    first = syncer.run_pass()
    assert (first.added, first.pending) == (0, 1) and project.image_count() == 1
    with open(growing, "ab") as fh:  # the copy goes on: still pending
        fh.write(b"\0" * 100)
    assert syncer.run_pass().pending == 1 and project.image_count() == 1
    now[0] += 1.0  # still young by its time, but unchanged since the last pass: written completely
    done = syncer.run_pass()
    assert (done.added, done.pending) == (1, 0) and project.image_count() == 2
    late = _png(project.image_root / "late.png")  # a fresh file whose time lies in the future
    t = time.time() + 3600
    os.utime(late, (t, t))
    assert syncer.run_pass().pending == 1
    assert syncer.run_pass().added == 1  # seen twice unchanged
    project.close()


def test_a_vanished_image_folder_changes_nothing(tmp_path: Path) -> None:
    project = _project(tmp_path, ["a.png", "b.png"])
    moved = tmp_path / "moved"
    project.image_root.rename(moved)
    result = _syncer(project).run_pass()
    assert result.folder_gone and not result.changed()
    assert not any(r.missing for r in project.images())
    assert _syncer(project).list_folders().folder_gone
    project.close()


def test_a_pass_writes_one_transaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path, ["a.png"])
    for i in range(50):
        _age(_png(project.image_root / f"n{i:02d}.png"), 60)
    calls: list[int] = []
    real = folder_sync.apply_sync_plan

    def counting(conn, plan, skip=()):  # type: ignore[no-untyped-def]
        calls.append(len(plan.new))
        real(conn, plan, skip)

    monkeypatch.setattr(folder_sync, "apply_sync_plan", counting)
    before = project.conn.total_changes
    assert _syncer(project).run_pass().added == 50
    assert calls == [50] and project.image_count() == 51 and project.conn.total_changes == before
    project.close()


# ------------------------------------------------------------------------------------ thumbnails
def _photo(path: Path, w: int = 1200, h: int = 800, orientation: int = 1) -> Path:
    yy, xx = np.mgrid[0:h, 0:w]
    arr = np.stack([xx * 255 // w, yy * 255 // h, np.full_like(xx, 60)], axis=2).astype(np.uint8)
    arr[: h // 4, : w // 4] = (255, 0, 0)  # red top-left corner (file frame)
    im = Image.fromarray(arr)
    if orientation != 1:
        exif = im.getexif()
        exif[0x0112] = orientation
        im.save(path, quality=95, exif=exif)
    else:
        im.save(path, quality=95)
    return path


def _decoded(th: thumbnails.Thumbnail) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(th.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert bgr is not None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("orientation", [1, 6])
def test_a_jpeg_preview_matches_the_full_decode(tmp_path: Path, orientation: int) -> None:
    path = _photo(tmp_path / "p.jpg", orientation=orientation)
    th = make_thumbnail(path, 256)
    full = load_image(path).array  # EXIF rotation applied, as everywhere in the app
    assert (th.image_width, th.image_height) == (full.shape[1], full.shape[0])
    assert max(th.width, th.height) == 256
    small = _decoded(th)
    assert small.shape == (th.height, th.width, 3)
    reference = cv2.resize(full, (th.width, th.height), interpolation=cv2.INTER_AREA)
    assert float(np.abs(small.astype(int) - reference.astype(int)).mean()) < 4.0


def test_other_formats_small_images_and_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small = _png(tmp_path / "s.png", 100, 50, value=200)
    th = make_thumbnail(small, 256)
    assert (th.width, th.height) == (100, 50) and int(_decoded(th).mean()) in range(195, 206)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(ImageLoadError):
        make_thumbnail(broken)
    # a header claiming 30000 x 30000 pixels: refused from the header, nothing decoded
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    huge = tmp_path / "huge.png"
    huge.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
                     + struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND")))
    with pytest.raises(ImageLoadError):
        make_thumbnail(huge)
    monkeypatch.setattr(thumbnails, "FULL_DECODE_MAX_PIXELS", 1000)  # a non-JPEG above the preview limit
    with pytest.raises(ImageLoadError, match="too large for a preview"):
        make_thumbnail(small)
