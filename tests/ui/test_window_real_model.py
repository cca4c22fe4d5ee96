"""One pass of the labeling loop with a REAL mobile_sam (random weights: same code path and shapes as the
released checkpoint) through the window, the inference worker and the store."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from app.core.rle import rle_to_mask
from tests.ui.window_support import click_image, key, make_images, open_window


def test_real_mobile_sam_point_prompt_and_accept(qtbot, tmp_path: Path) -> None:
    import torch

    from sam_backend import SamPredictor, build_model

    torch.manual_seed(0)
    predictor = SamPredictor(build_model("mobile_sam"), model_id="mobile_sam", device="cpu")
    win = open_window(qtbot, make_images(tmp_path / "real", n=1, size=(160, 120)), predictor,
                      model_id="mobile_sam")
    assert win.inference.has_model() and "mobile_sam" in win.status.model.text()
    click_image(win, 80, 60)
    qtbot.waitUntil(lambda: win.strip.count() == 3, timeout=60000)
    pred = win.controller.prediction
    assert pred.masks.shape == (3, 120, 160) and pred.masks.dtype == bool
    assert pred.low_res_logits.shape == (3, 256, 256)
    assert [win.strip.caption(k) for k in range(3)] == [f"IoU {float(s):.2f}" for s in pred.scores]
    assert win.controller.candidate == int(np.argmax(pred.scores))
    chosen = pred.masks[win.controller.candidate].copy()
    key(win, Qt.Key.Key_Return)
    anns = win.project.annotations(win.controller.image.id)
    if chosen.any():
        assert len(anns) == 1 and np.array_equal(rle_to_mask(anns[0].rle), chosen)
    else:  # random weights may predict nothing: then nothing is stored and the user is told
        assert anns == [] and "empty" in win.status.message.text()
    # a second prompt set on the same image reuses the embedding: no second encode
    encodes = []
    win.inference.encodeStateChanged.connect(lambda k, state: encodes.append(state))
    click_image(win, 30, 30, Qt.MouseButton.RightButton)
    click_image(win, 100, 70)
    qtbot.waitUntil(lambda: win.strip.count() == 3, timeout=60000)
    assert win.canvas.prompts().labels == (0, 1)
    assert "encoding" not in encodes
    win.close()
