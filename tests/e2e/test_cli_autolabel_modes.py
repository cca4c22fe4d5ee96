"""`autolabel --mode everything|boxes`: a detection dataset becomes masks, segment everything on a new
folder, --images, --min-score, progress with ETA and one-line errors (in-process CLI, small random SAM)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.automation.batch import BatchProgress
from app.cli.autolabel_cmd import BatchBar
from app.core.model import Annotation
from app.core.project import Project
from app.core.rle import rle_to_mask
from app.core.shapes import rectangle_parts
from tests.e2e.test_cli_autolabel import _images, _main, small_sam_cli  # noqa: F401 - fixture

EVERY = ["--option", "points_per_side=4", "--option", "pred_iou_thresh=0", "--option", "stability_score_thresh=0",
         "--option", "box_nms_thresh=1"]


def _cli(folder: Path, *extra: str) -> list[str]:
    return ["python", "-m", "app", "autolabel", str(folder), "--device", "cpu", *extra]


def _detections(folder: Path) -> dict[str, list[int]]:
    """Two rectangles (car, person) on every image of the folder's project; returns their ids by path."""
    ids: dict[str, list[int]] = {}
    with Project.open_folder(folder) as project:
        car, person = project.add_label_class("car"), project.add_label_class("person")
        for rec in project.images():
            for lab, box in ((car, ((4.0, 4.0), (30.0, 25.0))), (person, ((32.0, 10.0), (50.0, 35.0)))):
                ann = project.add_annotation(Annotation(rec.id, lab.id, rectangle_parts(*box), None, shape="rectangle",
                                                        points=box, source="import"))
                ids.setdefault(rec.path, []).append(int(ann.id))
    return ids


def test_boxes_turn_a_detection_dataset_into_masks(tmp_path: Path, small_sam_cli: list, capsys) -> None:
    folder = _images(tmp_path / "imgs", 3)
    rect_ids = _detections(folder)
    code, out, err = _main(_cli(folder, "--mode", "boxes", "--images", "img[01].png"), capsys)
    assert code == 0, err
    assert "labelled 2 of 2 images (0 already done, 0 failed) with boxes on cpu" in out
    assert "autolabel boxes: 100% 2/2 images" in err and "Traceback" not in err
    from sam_backend import load_predictor

    sam = load_predictor()  # the fixture's small SAM
    with Project.open(folder / "imgs.samlabel", read_only=True) as project:
        names = {lc.id: lc.name for lc in project.label_classes()}
        for rec in project.images():
            auto = [a for a in project.annotations(rec.id) if a.source == "auto"]
            if rec.path == "img2.png":
                assert auto == [] and "autolabel" not in rec.extra
                continue
            assert [a.extra["source_annotation"] for a in auto] == rect_ids[rec.path]
            assert [names[a.label_id] for a in auto] == ["car", "person"]
            image = np.asarray(Image.open(folder / rec.path).convert("RGB"))
            want = sam.predict(sam.encode(image), box=(4.0, 4.0, 30.0, 25.0), multimask=False)
            assert np.array_equal(rle_to_mask(auto[0].rle), want.masks[0])
            assert auto[0].score == pytest.approx(float(want.scores[0]))
    # --min-score above every score: the images are labelled (marked) with nothing stored
    code, out, err = _main(_cli(folder, "--mode", "boxes", "--images", "img2.png", "--min-score", "5"), capsys)
    assert code == 0, err
    assert "labelled 1 of 1 images (0 already done, 0 failed)" in out and ": 0 annotations (none)" in out


def test_everything_on_a_new_folder(tmp_path: Path, small_sam_cli: list, capsys) -> None:
    folder = _images(tmp_path / "imgs", 2)
    code, out, err = _main(_cli(folder, "--mode", "everything", "--label", "thing", *EVERY), capsys)
    assert code == 0, err
    assert f"created the project {folder / 'imgs.samlabel'}" in out
    assert "labelled 2 of 2 images (0 already done, 0 failed) with everything" in out
    with Project.open(folder / "imgs.samlabel", read_only=True) as project:
        names = {lc.id: lc.name for lc in project.label_classes()}
        for rec in project.images():
            anns = project.annotations(rec.id)
            assert anns and all(a.source == "auto" and names[a.label_id] == "thing" for a in anns)
            assert all(a.extra["automation"] == "everything" and a.score == a.extra["predicted_iou"] for a in anns)
            mark = rec.extra["autolabel"]["everything"]
            assert mark["annotations"] == len(anns) and mark["settings"]["params"]["points_per_side"] == 4
    code, out, _ = _main(_cli(folder, "--mode", "everything", "--label", "thing", *EVERY), capsys)
    assert code == 0 and "nothing to do" in out and "created" not in out


def test_user_errors_are_one_line(tmp_path: Path, small_sam_cli: list, capsys) -> None:
    folder = _images(tmp_path / "imgs", 1)
    for extra, expected in (
        (["--mode", "boxes", "--images", "*.jpg"], "none match *.jpg"),
        (["--mode", "everything", "--option", "points=3"], "unknown option 'points'"),
        (["--mode", "everything", "--option", "box_nms_thresh=2"], "box_nms_thresh must be between 0 and 1"),
        (["--mode", "everything", "--option", "points_per_side=0"], "points_per_side must be at least 1"),
    ):
        code, out, err = _main(_cli(folder, *extra), capsys)
        lines = err.strip().splitlines()
        assert code == 1 and lines[-1].startswith("sam-labeler: error:") and expected in lines[-1], err
        assert "Traceback" not in err


def test_progress_line_has_rate_and_eta() -> None:
    stream = io.StringIO()
    bar = BatchBar("autolabel boxes", stream, interval_s=0)
    bar(BatchProgress(0, 10, 0, 0, 0, 0.0, None))
    bar(BatchProgress(4, 10, 3, 1, 7, 8.0, 12.0))
    bar(BatchProgress(10, 10, 9, 1, 20, 20.0, 0.0))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "autolabel boxes: 0% 0/10 images, 0 annotations"
    assert lines[1] == "autolabel boxes: 40% 4/10 images, 7 annotations, 1 failed, 0.50 images/s, ETA 12s"
    assert lines[2] == "autolabel boxes: 100% 10/10 images, 20 annotations, 1 failed, 0.50 images/s"
    assert bar.latest is not None and bar.latest.done == 10


def test_models_modes_lists_the_fast_modes_with_their_figures(capsys) -> None:
    """Issue 16: `sam-labeler models modes ID` shows each encoder mode's measured figures and whether it
    works here."""
    from app.cli import main
    from sam_backend.modes import encoder_modes

    assert main(["models", "modes", "mobile_sam", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[1:5]}
    int8 = next(m for m in encoder_modes("mobile_sam", "cpu") if m.precision == "int8")
    assert f"{int8.speedup:.2f}x" in rows["int8"] and "works" in rows["int8"]
    assert "CUDA only" in rows["fp16"] and rows["fp32"].split()[1] == "yes"


def test_a_fast_mode_run_is_recorded_apart_from_an_exact_one() -> None:
    """A batch run in a fast mode records the mode with the model, so an exact re-run redoes it."""
    from app.automation.batch import ModelSpec

    assert ModelSpec("mobile_sam").name == "mobile_sam"
    assert ModelSpec("mobile_sam", precision="bf16").name == "mobile_sam.bf16"
