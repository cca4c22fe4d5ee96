"""Accepting a fragmented mask: the GUI thread neither packs its geometry nor builds its drawing data
(the helper process and the geometry thread did); the canvas item shows exactly the stored polygons."""
from __future__ import annotations

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
    packed_in: list[str] = []
    built_in: list[tuple[str, object]] = []
    pack, build = codec._pack_parts, prepared.build

    def spy_pack(parts):  # type: ignore[no-untyped-def]
        packed_in.append(threading.current_thread().name)
        return pack(parts)

    def spy_build(parts, arrays=None):  # type: ignore[no-untyped-def]
        ready = build(parts, arrays)
        built_in.append((threading.current_thread().name, ready.index))
        return ready

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
    try:
        click_image(win, 80, 60)
        wait_candidates(qtbot, win)
        expected = win.controller.prediction.masks[0].copy()
        packed_in.clear()
        outline_in.clear()
        key(win, Qt.Key.Key_Return)
        anns = win.project.annotations(win.controller.image.id)
        assert len(anns) == 1 and len(anns[0].parts) > 500
        item = win.canvas._layer.items[anns[0].id]
        assert item.many and item.parts is anns[0].parts  # the store's read-back kept the objects
        assert built_in and built_in[-1] == ("sam-labeler-geometry", item.index)
        assert "MainThread" not in packed_in  # packed in the helper process; the store reused that blob
        assert win.controller.geometry.process_conversions == 1
        assert win.controller.geometry.process_failures == 0
        assert np.array_equal(parts_to_mask(item.parts, 120, 160), expected)
        # the outline was computed by the helper too (not by the store), and equals a fresh one
        assert outline_in == []
        stored = anns[0].outline
        assert stored is not None and not stored.holes
        fresh = outline.outline_of_annotation(anns[0], 120, 160)
        assert fresh is not None and stored == fresh
        assert stored.area == int(expected.sum())
    finally:
        win.close()
