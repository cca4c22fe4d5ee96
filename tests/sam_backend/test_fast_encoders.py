"""The fast encoder routes compute what the plain encoders compute: TinyViT (BatchNorm folded, strips,
fused activations and residuals, chunked windows and MLPs) and ViT (global attention by query-row
strips, chunked windows and MLPs), including the chunk and strip boundaries."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sam_backend import build_model
from sam_backend.fast import strips
from sam_backend.fast import tiny_vit as fast_tiny
from sam_backend.fast import vit as fast_vit
from sam_backend.fast.routes import encoder_route

SMALL_VIT = dict(depth=4, embed_dim=64, num_heads=4, global_attn_indexes=(1, 3), window_size=14)


def _randomise_bn(model: torch.nn.Module, seed: int) -> None:
    """Non-trivial BatchNorm statistics and LayerNorm affine terms (folding must matter)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.2 + 1)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)
            elif isinstance(m, torch.nn.LayerNorm):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.2 + 1)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    return torch.randn(1, 3, 1024, 1024, generator=torch.Generator().manual_seed(1))


def _compare(encoder: torch.nn.Module, x: torch.Tensor, atol: float = 1e-4) -> None:
    route = encoder_route(encoder)
    assert route is not encoder
    with torch.inference_mode():
        ref, ref_early = encoder(x)
        out, early = route(x)
    assert out.shape == ref.shape and out.is_contiguous()
    torch.testing.assert_close(out, ref, atol=atol, rtol=0)
    assert len(early) == len(ref_early)
    for a, b in zip(early, ref_early):
        torch.testing.assert_close(a, b, atol=atol, rtol=0)


@pytest.mark.parametrize("model_id", ["mobile_sam", "sam_hq_vit_tiny"])
def test_tiny_vit_route_equals_plain(model_id: str, image: torch.Tensor) -> None:
    torch.manual_seed(2)
    model = build_model(model_id)
    _randomise_bn(model, 3)
    _compare(model.image_encoder, image)


def test_tiny_vit_route_with_small_chunks_and_strips(image: torch.Tensor, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(4)
    model = build_model("mobile_sam")
    _randomise_bn(model, 5)
    monkeypatch.setattr(fast_tiny, "CHUNK_BYTES", 300_000)  # many uneven window / token chunks
    monkeypatch.setattr(strips, "STRIP_BYTES", 700_000)  # many strips, the last one shorter
    _compare(model.image_encoder, image)


def test_vit_route_equals_plain(image: torch.Tensor) -> None:
    torch.manual_seed(6)
    model = build_model("sam_vit_b", SMALL_VIT)
    model.image_encoder.keep_early = True
    _compare(model.image_encoder, image)


def test_vit_route_with_small_chunks(image: torch.Tensor, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(7)
    model = build_model("sam_vit_b", SMALL_VIT)
    monkeypatch.setattr(fast_vit, "CHUNK_BYTES", 200_000)  # windows / tokens in many chunks
    monkeypatch.setattr(fast_vit, "BIAS_BYTES", 3 * 4 * 64 * 4096 * 4)  # 3 query rows per strip: 64 = 21 * 3 + 1
    _compare(model.image_encoder, image)


def test_routes_fall_back_to_public_ops_under_autograd(image: torch.Tensor) -> None:
    """With autograd recording, the fused oneDNN operators are not used (they have no backward):
    the routes give the same values through the public operators, and gradients flow."""
    torch.manual_seed(8)
    model = build_model("sam_vit_b", dict(SMALL_VIT, depth=2, global_attn_indexes=(1,)))
    route = encoder_route(model.image_encoder)
    x = image[:, :, :512].repeat(1, 1, 2, 1).clone().requires_grad_(True)
    out, _ = route(x)
    with torch.inference_mode():
        ref, _ = model.image_encoder(x.detach())
    torch.testing.assert_close(out.detach(), ref, atol=1e-4, rtol=0)
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_strips_equal_whole_map_convolutions(monkeypatch: pytest.MonkeyPatch) -> None:
    g = torch.Generator().manual_seed(9)
    x = torch.randn(2, 3, 37, 29, generator=g).contiguous(memory_format=torch.channels_last)
    w1, w2 = torch.randn(8, 3, 3, 3, generator=g), torch.randn(5, 8, 3, 3, generator=g)

    def op(w: torch.Tensor, stride: int) -> strips.RowOp:
        return strips.RowOp(lambda t: F.conv2d(t, w, None, stride, (0, 1)), 3, stride, 1, w.shape[0])

    ops = [op(w1, 2), op(w2, 1)]
    expected = F.conv2d(F.conv2d(x, w1, None, 2, 1), w2, None, 1, 1)
    monkeypatch.setattr(strips, "STRIP_BYTES", 8 * 29 * 4 * 3)  # 3 rows per strip: 19 = 6 * 3 + 1
    got = strips.run(ops, x)
    assert strips.out_height(ops, 37) == 19
    assert got.shape == expected.shape and got.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    shifted = strips.run(ops, x, finish=lambda s, a, b: s + a)  # finish sees each strip's first row index
    rows = torch.arange(19).view(1, 1, 19, 1)
    torch.testing.assert_close(shifted - expected, ((rows // 3) * 3).expand_as(expected).float(), atol=1e-5, rtol=0)


def test_routes_refuse_what_they_cannot_fold_or_fuse() -> None:
    """The fused convolutions take int padding only (torch also allows "same"), and BatchNorm folding
    needs running statistics: either is refused with one sentence when a route is made or run."""
    from sam_backend.fast.ops import int_padding

    assert int_padding(torch.nn.Conv2d(3, 4, 3, padding=1)) == (1, 1)
    with pytest.raises(ValueError, match="padding 'same'"):
        int_padding(torch.nn.Conv2d(3, 4, 3, padding="same"))
    model = build_model("mobile_sam")
    bn = next(m for m in model.image_encoder.modules() if isinstance(m, torch.nn.BatchNorm2d))
    bn.running_var = None
    with pytest.raises(ValueError, match="running statistics"):
        fast_tiny.FastTinyViT(model.image_encoder)


def test_tiny_vit_windows_of_one_image_and_of_a_batch_agree(image: torch.Tensor, monkeypatch: pytest.MonkeyPatch) -> None:
    """The windows are gathered and scattered by index for a batch as for one image: each image of a
    batch gets the embedding it gets alone, to float rounding (the matrix products of a batch are
    blocked differently), over uneven chunks of windows that straddle two images."""
    torch.manual_seed(6)
    model = build_model("mobile_sam")
    _randomise_bn(model, 7)
    monkeypatch.setattr(fast_tiny, "CHUNK_BYTES", 300_000)
    route = encoder_route(model.image_encoder)
    other = torch.randn(1, 3, 1024, 1024, generator=torch.Generator().manual_seed(8))
    with torch.inference_mode():
        one, _ = route(image)
        both, _ = route(torch.cat([image, other]))
        two, _ = route(other)
    torch.testing.assert_close(both[0], one[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(both[1], two[0], atol=1e-5, rtol=0)
