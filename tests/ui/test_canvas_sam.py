"""The canvas with a real (randomly initialised) mobile_sam: clicks -> prompts -> predict -> overlay."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from tests.ui.canvas_support import click, drag, make_view, overlay_rgba


@pytest.fixture(scope="module")
def predictor():
    from sam_backend.models.build import build_model
    from sam_backend.predictor import SamPredictor

    torch.manual_seed(0)
    return SamPredictor(build_model("mobile_sam"), "mobile_sam", "cpu")


@pytest.mark.slow
def test_canvas_prompts_drive_a_real_predictor_and_the_overlay_shows_its_mask(qtbot, predictor) -> None:
    view = make_view(qtbot)
    rgb = np.zeros((120, 160, 3), np.uint8)
    rgb[30:90, 40:120] = (200, 180, 40)
    view.set_image(rgb)
    click(view, 80.0, 60.0)
    click(view, 10.0, 10.0, Qt.MouseButton.RightButton)
    view.set_tool("box")
    drag(view, [(40.0, 30.0), (119.0, 89.0)])
    ps = view.prompts()
    assert ps.labels == (1, 0) and ps.box is not None

    emb = predictor.encode(rgb)
    pred = predictor.predict(emb, points=list(ps.points), labels=list(ps.labels), box=ps.box)
    assert pred.masks.shape == (3, 120, 160) and pred.masks.dtype == bool

    k = int(np.argmax(pred.scores))
    view.set_candidate(pred.masks[k], "#00aaff")
    shown = overlay_rgba(view.overlay_item())
    assert shown.shape == (120, 160, 4)
    assert np.array_equal(shown[..., 3] > 0, pred.masks[k]), "overlay pixel (c, r) == mask[r, c]"
