"""Accepting a fragmented mask: the GUI process neither packs its geometry nor builds its drawing data
(the accept service's worker process did); the canvas item shows exactly the stored polygons."""
from __future__ import annotations

import os
import threading

import numpy as np
from PySide6.QtCore import Qt

from app.core import codec
from app.core.geometry import parts_to_mask
from app.ui.canvas import prepared
from tests.ui.window_support import RecordingPredictor, click_image, key, make_images, open_window, wait_candidates


class SpeckledPredictor(RecordingPredictor):
    """Candidates are a grid of 2x2 px specks (hundreds of parts, like random-weight SAM masks)."""

    def predict(self, emb, points=None, labels=None, box=None, mask_input=None, multimask=True):  # type: ignore[no-untyped-def]
        pred = super().predict(emb, points, labels, box, mask_input, multimask)
        h, w = pred.masks.shape[1:]
        specks = np.zeros((h, w), bool)
        for y in range(2, h - 2, 4):
            for x in range(2, w - 2, 4):
                specks[y:y + 2, x:x + 2] = True
        pred.masks[:] = specks
        return pred


def test_accept_of_fragmented_mask_does_its_heavy_work_off_the_gui_thread(qtbot, tmp_path, monkeypatch) -> None:
    """Packing, outline and drawing data of an accepted mask come from the accept service's worker
    process: this process computes none of them, and the canvas draws the delivered data."""
    packed_in: list[str] = []
    built_in: list[str] = []
    pack, build = codec._pack_parts, prepared.build

    def spy_pack(parts):  # type: ignore[no-untyped-def]
        packed_in.append(threading.current_thread().name)
        return pack(parts)

    def spy_build(parts, arrays=None):  # type: ignore[no-untyped-def]
        built_in.append(threading.current_thread().name)
        return build(parts, arrays)

    from app.core import outline

    outline_in: list[str] = []
    compute = outline.outlines

    def spy_outlines(*args, **kw):  # type: ignore[no-untyped-def]
        outline_in.append(threading.current_thread().name)
        return compute(*args, **kw)

    monkeypatch.setattr(outline, "outlines", spy_outlines)
    monkeypatch.setattr(codec, "_pack_parts", spy_pack)
    monkeypatch.setattr(prepared, "build", spy_build)
    win = open_window(qtbot, make_images(tmp_path / "imgs", n=2), SpeckledPredictor())
    results: list = []
    win.controller.geometry.finished.connect(results.append)
    try:
        click_image(win, 80, 60)
        wait_candidates(qtbot, win)
        expected = win.controller.prediction.masks[0].copy()
        packed_in.clear()
        outline_in.clear()
        key(win, Qt.Key.Key_Return)
        anns = win.project.annotations(win.controller.image.id)
        assert len(anns) == 1 and len(anns[0].parts) > 500
        assert len(results) == 1 and results[0].error is None
        delivered = results[0].geometry
        item = win.canvas._layer.items[anns[0].id]
        assert item.many and item.parts is anns[0].parts is delivered.parts  # the store's read-back kept them
        assert item.index is delivered.drawing.index  # drawn with the data computed in the worker
        assert packed_in == [] and built_in == []  # nothing packed or built in this process
        assert outline_in == []  # the outline came from the worker too (not from the store)
        pids = win.controller.geometry.worker_pids()
        assert pids and os.getpid() not in pids and win.controller.geometry.process_failures == 0
        assert np.array_equal(parts_to_mask(item.parts, 120, 160), expected)
        stored = anns[0].outline
        assert stored is not None and not stored.holes
        fresh = outline.outline_of_annotation(anns[0], 120, 160)
        assert fresh is not None and stored == fresh
        assert stored.area == int(expected.sum())
    finally:
        win.close()
