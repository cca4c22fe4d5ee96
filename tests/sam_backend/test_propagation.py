"""Sequence propagation (sam_backend.propagation + hf.video) on a tiny random SAM 2.1 video model.

Parity: our propagator (frames read on demand, outputs pruned) equals the library's own flow (the
whole video preloaded into its inference session, masks added by its processor, then
``propagate_in_video_iterator`` forward and reverse) frame by frame.
"""
from __future__ import annotations

import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("transformers", reason="the sam2 extra (transformers) is not installed")

from transformers.models.sam2_video.modeling_sam2_video import Sam2VideoInferenceSession  # noqa: E402
from transformers.models.sam2_video.processing_sam2_video import Sam2VideoProcessor  # noqa: E402

from sam_backend.hf.predictor import pixel_values  # noqa: E402
from sam_backend.hf.video import VideoPropagator  # noqa: E402
from sam_backend.propagation import PropagationCancelled, PropagationPlan  # noqa: E402
from tests.sam_backend import _hf_tiny  # noqa: E402

H, W = 48, 64


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    return [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(7)]


def _masks() -> dict[int, np.ndarray]:
    a = np.zeros((H, W), bool)
    a[8:26, 10:40] = True
    b = np.zeros((H, W), bool)
    b[30:46, 4:20] = True
    return {3: a, 11: b}


def test_plan_orders_and_clips() -> None:
    plan = PropagationPlan(10, 4, forward=3, backward=None)
    assert plan.forward_frames == [5, 6, 7] and plan.backward_frames == [3, 2, 1, 0] and plan.total == 7
    assert PropagationPlan(10, 9).forward_frames == [] and PropagationPlan(10, 0, backward=5).backward_frames == []
    assert PropagationPlan(10, 4, forward=100, backward=0).forward_frames == [5, 6, 7, 8, 9]
    with pytest.raises(ValueError, match="outside"):
        PropagationPlan(3, 3)
    with pytest.raises(ValueError, match=">= 0"):
        PropagationPlan(3, 1, forward=-1)


def test_matches_the_library_forward_and_backward(frames: list[np.ndarray]) -> None:
    model = _hf_tiny.sam2_video_model(seed=1)
    prop = VideoPropagator(model, "sam2.1_hiera_tiny", "sam2")
    anchor = 3
    calls: list[int] = []

    def read(i: int) -> np.ndarray:
        calls.append(i)
        return frames[i]

    ours = list(prop.propagate(read, PropagationPlan(len(frames), anchor), _masks(), threshold=0.0))
    assert [(r.frame, r.direction) for r in ours] == [(4, 1), (5, 1), (6, 1), (2, -1), (1, -1), (0, -1)]
    assert sorted(set(calls)) == list(range(len(frames))) and len(calls) <= len(frames) + 2  # read on demand

    size = prop.image_size
    video = torch.cat([pixel_values(f, size, prop._mean, prop._std, prop.device) for f in frames])
    session = Sam2VideoInferenceSession(video=video, video_height=H, video_width=W, dtype=torch.float32)
    Sam2VideoProcessor.process_new_mask_for_video_frame(types.SimpleNamespace(target_size=size), session, anchor,
                                                        list(_masks()), list(_masks().values()))
    ref = {}
    with torch.inference_mode():
        model(session, frame_idx=anchor)
        for reverse in (False, True):
            for out in model.propagate_in_video_iterator(session, start_frame_idx=anchor, reverse=reverse):
                ref[(out.frame_idx, -1 if reverse else 1)] = out
    for r in ours:
        out = ref[(r.frame, r.direction)]
        full = F.interpolate(out.pred_masks.float(), (H, W), mode="bilinear", align_corners=False) > 0
        probs = torch.sigmoid(out.object_score_logits.reshape(-1))
        for k, obj in enumerate(out.object_ids):
            assert np.array_equal(r.masks[obj], full[k, 0].numpy())
            assert r.scores[obj] == pytest.approx(float(probs[k]), abs=1e-6)
        assert 0.0 < np.mean([m.mean() for m in r.masks.values()]) < 1.0


def test_objects_stop_below_the_threshold_and_progress_reaches_the_end(frames: list[np.ndarray]) -> None:
    prop = VideoPropagator(_hf_tiny.sam2_video_model(seed=1, object_logit=-4.0), "sam2.1_hiera_tiny", "sam2")
    seen: list[tuple[int, int]] = []
    out = list(prop.propagate(lambda i: frames[i], PropagationPlan(len(frames), 3), _masks(), threshold=0.5,
                              progress=lambda d, t: seen.append((d, t))))
    # both objects leave on the first frame of each direction; the rest of that direction is skipped
    assert [(r.frame, r.stopped, r.masks) for r in out] == [(4, (3, 11), {}), (2, (3, 11), {})]
    assert all(0.0 < s < 0.5 for r in out for s in r.scores.values())
    assert seen[-1] == (6, 6)


def test_cancel_stops_between_frames(frames: list[np.ndarray]) -> None:
    prop = VideoPropagator(_hf_tiny.sam2_video_model(seed=1), "sam2.1_hiera_tiny", "sam2")
    got = []
    with pytest.raises(PropagationCancelled, match="after 2 of 6"):
        for r in prop.propagate(lambda i: frames[i], PropagationPlan(len(frames), 3), _masks(),
                                should_cancel=lambda: len(got) >= 2):
            got.append(r.frame)
    assert got == [4, 5]


def test_old_outputs_are_dropped_on_long_sequences() -> None:
    """Memory stays bounded: per-frame outputs further than the model's memory window from both the
    current frame and the anchor are dropped (the library would keep every frame's outputs)."""
    model = _hf_tiny.sam2_video_model(seed=1)
    prop = VideoPropagator(model, "sam2.1_hiera_tiny", "sam2")
    frame = np.random.default_rng(1).integers(0, 256, (H, W, 3), dtype=np.uint8)
    sizes = []
    original = prop._forget_old

    def spy(session: object, current: int, anchor: int) -> None:
        original(session, current, anchor)
        sizes.append(max(len(o["non_cond_frame_outputs"]) for o in session.output_dict_per_obj.values()))

    prop._forget_old = spy  # type: ignore[method-assign]
    n = 3 * prop.keep + 4
    list(prop.propagate(lambda i: frame, PropagationPlan(n, 0), {1: _masks()[3]}, threshold=0.0))
    assert len(sizes) == n - 1
    assert max(sizes) <= 2 * prop.keep + 2 < n - 1
