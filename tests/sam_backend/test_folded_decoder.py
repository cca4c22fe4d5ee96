"""The decoder's fast arithmetic routes compute the textbook function: folded cross-attentions,
matmul upscaling in tree order, token-selective masks, SAM-HQ's folded last convolution.

Random weights and inputs; float64 pins the algebra (1e-9), float32 the rounding (1e-5)."""
from __future__ import annotations

import copy

import pytest
import torch

from sam_backend import build_model
from sam_backend.fast import folded, upscaling
from sam_backend.fast import transformer as fast_transformer
from sam_backend.fast.decoder import FastDecoder
from sam_backend.models.mask_decoder import MaskDecoder
from sam_backend.models.transformer import Attention, TwoWayTransformer

TOL = {torch.float64: 1e-9, torch.float32: 1e-5}


def _randomise(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Non-trivial values for every parameter (LayerNorm weights/biases and embeddings included)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.5 / max(1, p.shape[-1]) ** 0.5 if p.ndim > 1 else 0.3))
    return module


def _attention(dtype: torch.dtype, seed: int = 0) -> Attention:
    return _randomise(Attention(32, 4, downsample_rate=2), seed).to(dtype).eval()


def _textbook(attn: Attention, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return attn(q, k, v)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("batch, image_batch", [(1, 1), (3, 1), (3, 3)])
def test_folded_token_to_image_equals_textbook(dtype: torch.dtype, batch: int, image_batch: int) -> None:
    attn = _attention(dtype)
    g = torch.Generator().manual_seed(1)
    q = torch.randn(batch, 5, 32, generator=g).to(dtype)
    k = torch.randn(image_batch, 300, 32, generator=g).to(dtype) * 2
    v = torch.randn(image_batch, 300, 32, generator=g).to(dtype)
    ref = _textbook(attn, q, k, v)
    with torch.inference_mode():
        out = folded.token_to_image(attn, q, k, v)
        kh, vh = folded.heads_columns(attn, attn.k_proj, k), folded.heads_v(attn, v).contiguous()
        cached = folded.attend_projected(attn, q, kh, vh)
    assert out.shape == ref.shape == (batch, 5, 32)
    torch.testing.assert_close(out, ref, atol=TOL[dtype], rtol=0)
    torch.testing.assert_close(cached, ref, atol=TOL[dtype], rtol=0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("batch, image_batch", [(1, 1), (3, 1), (3, 3)])
def test_folded_image_to_token_equals_textbook(dtype: torch.dtype, batch: int, image_batch: int) -> None:
    attn = _attention(dtype, seed=2)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(image_batch, 300, 32, generator=g).to(dtype) * 2
    k = torch.randn(batch, 6, 32, generator=g).to(dtype)
    v = torch.randn(batch, 6, 32, generator=g).to(dtype)
    ref = _textbook(attn, x, k, v)
    with torch.inference_mode():
        raw = folded.image_to_token(attn, x, k, v)
        projected = folded.image_to_token(attn, None, k, v, image_q_projected=folded.heads_columns(attn, attn.q_proj, x))
    assert raw.shape == ref.shape == (batch, 300, 32)
    torch.testing.assert_close(raw, ref, atol=TOL[dtype], rtol=0)
    torch.testing.assert_close(projected, ref, atol=TOL[dtype], rtol=0)
    residual = torch.randn(batch, 300, 32, generator=g).to(dtype)
    expected = ref + residual
    with torch.inference_mode():
        added = folded.image_to_token(attn, x, k, v, residual=residual)
        into = folded.image_to_token(attn, x, k, v, residual=residual, out=torch.empty(batch, 300, 32, dtype=dtype))
        accumulated = folded.image_to_token(attn, x, k, v, residual=residual, out=residual)
    torch.testing.assert_close(added, expected, atol=TOL[dtype], rtol=0)
    torch.testing.assert_close(into, expected, atol=TOL[dtype], rtol=0)
    assert accumulated.data_ptr() == residual.data_ptr()  # accumulated into the residual's memory
    torch.testing.assert_close(accumulated, expected, atol=TOL[dtype], rtol=0)


def test_folding_pays_only_for_few_tokens() -> None:
    attn = Attention(256, 8, downsample_rate=2)  # 8 heads, 128 internal channels
    assert folded.folding_pays(attn, 7) and folded.folding_pays(attn, 15)
    assert not folded.folding_pays(attn, 16) and not folded.folding_pays(attn, 40)


def test_upscaling_in_tree_order_equals_the_convolutions() -> None:
    decoder = _randomise(MaskDecoder(), 4).double().eval()
    seq = decoder.output_upscaling
    assert upscaling.supports(seq)
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 256, 6, 5, generator=g, dtype=torch.float64)
    with torch.inference_mode():
        ref = seq(x)
    vectors = torch.randn(2, 3, 32, generator=g, dtype=torch.float64)
    with torch.inference_mode():
        tree, levels = upscaling.upscale_tokens(seq, x.flatten(2).transpose(1, 2))
        out = upscaling.tree_to_grid(tree, (6, 5), levels)
        out_cl = upscaling.tree_to_grid(tree, (6, 5), levels, channels_last=True)
        maps, levels2 = upscaling.project_upscaled(seq, x.flatten(2).transpose(1, 2), vectors)
        projected = upscaling.tree_to_grid(maps, (6, 5), levels2)
    assert levels == levels2 == 2 and tree.shape == (2, 6 * 5 * 16, 32)
    assert out.shape == ref.shape == (2, 32, 24, 20)
    torch.testing.assert_close(out, ref, atol=1e-9, rtol=0)
    assert out.is_contiguous() and out_cl.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(out_cl, out)
    torch.testing.assert_close(projected, torch.einsum("bmc,bchw->bmhw", vectors, ref), atol=1e-9, rtol=0)
    assert maps.shape == (2, 6 * 5 * 16, 3) and maps.transpose(1, 2).is_contiguous()  # channel-first memory: no copy


def test_projection_blocks_cover_every_row(monkeypatch: pytest.MonkeyPatch) -> None:
    decoder = _randomise(MaskDecoder(), 10).double().eval()
    g = torch.Generator().manual_seed(11)
    tokens = torch.randn(1, 7 * 9, 256, generator=g, dtype=torch.float64)
    vectors = torch.randn(1, 2, 32, generator=g, dtype=torch.float64)
    with torch.inference_mode():
        whole, _ = upscaling.project_upscaled(decoder.output_upscaling, tokens, vectors)
        monkeypatch.setattr(upscaling, "TAIL_ROWS", 5)  # 63 * 4 rows: uneven blocks
        blocks, _ = upscaling.project_upscaled(decoder.output_upscaling, tokens, vectors)
    torch.testing.assert_close(blocks, whole, atol=1e-12, rtol=0)


def test_unsupported_upscaling_stacks_are_detected() -> None:
    assert not upscaling.supports(torch.nn.Sequential(torch.nn.ConvTranspose2d(8, 4, kernel_size=3, stride=2)))
    assert not upscaling.supports(torch.nn.Sequential(torch.nn.ReLU()))


def _transformer_inputs(n_tokens: int, batch: int, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(6)
    image = torch.randn(1, 256, 8, 8, generator=g).to(dtype)
    pe = torch.randn(1, 256, 8, 8, generator=g).to(dtype)
    tokens = torch.randn(batch, n_tokens, 256, generator=g).to(dtype)
    return image, pe, tokens


@pytest.mark.parametrize("n_tokens", [7, 30])  # folded routes / projected image tokens
@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("project", [True, False])
def test_fast_transformer_equals_reference(n_tokens: int, batch: int, project: bool) -> None:
    model = _randomise(TwoWayTransformer(), 7).double().eval()
    image, pe, tokens = _transformer_inputs(n_tokens, batch, torch.float64)
    with torch.inference_mode():
        ref_q, ref_k = model(image, pe, tokens)
        side = fast_transformer.image_side(image, pe, model.layers[0] if project else None)
        q, k = fast_transformer.transformer_forward(model, side, tokens)
    torch.testing.assert_close(q, ref_q, atol=1e-9, rtol=0)
    torch.testing.assert_close(k, ref_k, atol=1e-9, rtol=0)


@pytest.mark.parametrize("outputs", [(0,), (0, 1), (0, 2, 3, 4), (4, 0, 2), tuple(range(7))])
@pytest.mark.parametrize("n_tokens", [7, 30])  # folded / projected final attention
def test_fast_transformer_selected_outputs_equal_reference_rows(outputs: tuple[int, ...], n_tokens: int) -> None:
    """With `outputs`, the final attention runs for those tokens only: their rows, in that order."""
    model = _randomise(TwoWayTransformer(), 7).double().eval()
    image, pe, tokens = _transformer_inputs(n_tokens, 2, torch.float64)
    with torch.inference_mode():
        ref_q, ref_k = model(image, pe, tokens)
        side = fast_transformer.image_side(image, pe, model.layers[0])
        q, k = fast_transformer.transformer_forward(model, side, tokens, [], outputs)
    assert q.shape == (2, len(outputs), 256)
    torch.testing.assert_close(q, ref_q[:, list(outputs)], atol=1e-9, rtol=0)
    torch.testing.assert_close(k, ref_k, atol=1e-9, rtol=0)


def test_token_iou_equals_the_decoders_iou(decoder: tuple[str, MaskDecoder]) -> None:
    model_id, dec = decoder
    feats, pe, sparse, dense, early = _decoder_inputs(model_id, 2, 1)
    fast = FastDecoder(dec)
    with torch.inference_mode():
        ref_iou = dec(feats, pe, sparse, dense, early)[1]
        iou = fast.token_iou(fast.prepare(feats, pe, dense, early), sparse)
    torch.testing.assert_close(iou, ref_iou, atol=1e-5, rtol=0)


def _decoder_inputs(model_id: str, batch: int, dense_batch: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(8)
    feats = torch.randn(1, 256, 64, 64, generator=g)
    pe = torch.randn(1, 256, 64, 64, generator=g)
    sparse = torch.randn(batch, 3, 256, generator=g)
    dense = torch.randn(dense_batch, 256, 64, 64, generator=g) * 0.1
    early = (torch.randn(1, 64, 64, 160, generator=g),) if "hq" in model_id else ()
    return feats, pe, sparse, dense, early


@pytest.fixture(scope="module", params=["mobile_sam", "sam_hq_vit_tiny"])
def decoder(request: pytest.FixtureRequest) -> tuple[str, MaskDecoder]:
    torch.manual_seed(9)
    return request.param, build_model(request.param).mask_decoder.eval()


@pytest.mark.parametrize("tokens", [(1, 2, 3), (0,), (0, 1, 2, 3)])
@pytest.mark.parametrize("batch, dense_batch, cached", [(1, 1, True), (1, 1, False), (2, 1, True), (2, 2, False)])
def test_fast_decoder_equals_reference(
    decoder: tuple[str, MaskDecoder], tokens: tuple[int, ...], batch: int, dense_batch: int, cached: bool
) -> None:
    model_id, dec = decoder
    feats, pe, sparse, dense, early = _decoder_inputs(model_id, batch, dense_batch)
    fast = FastDecoder(dec)
    with torch.inference_mode():
        ref_masks, ref_iou, ref_hq = dec(feats, pe, sparse, dense, early)
        prep = fast.prepare(feats, pe, dense, early) if cached else None
        masks, iou, hq = fast(feats, pe, sparse, dense, early, prep, mask_tokens=tokens)
    assert masks.shape == (batch, len(tokens), 256, 256)
    torch.testing.assert_close(masks, ref_masks[:, list(tokens)], atol=1e-4, rtol=0)
    torch.testing.assert_close(iou, ref_iou, atol=1e-5, rtol=0)
    assert (hq is None) == (ref_hq is None) == ("hq" not in model_id)
    if hq is not None:
        assert hq.shape == (batch, 1, 256, 256)
        torch.testing.assert_close(hq, ref_hq, atol=1e-4, rtol=0)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_one_channel_conv_equals_conv2d(k: int) -> None:
    g = torch.Generator().manual_seed(12)
    x = torch.randn(2, 7, 6, 4, generator=g, dtype=torch.float64)  # (B, H, W, C) channels-last
    weight = torch.randn(2, k, k, 4, generator=g, dtype=torch.float64)
    out = upscaling.one_channel_conv(x, weight)
    ref = torch.stack([
        torch.nn.functional.conv2d(x[i : i + 1].permute(0, 3, 1, 2), weight[i : i + 1].permute(0, 3, 1, 2), padding=k // 2)[0, 0]
        for i in range(2)
    ])
    assert out.shape == (2, 7, 6)
    torch.testing.assert_close(out, ref, atol=1e-12, rtol=0)


def test_fast_decoder_leaves_the_cached_image_side_untouched(decoder: tuple[str, MaskDecoder]) -> None:
    model_id, dec = decoder
    feats, pe, sparse, dense, early = _decoder_inputs(model_id, 1, 1)
    fast = FastDecoder(dec)
    with torch.inference_mode():
        prep = fast.prepare(feats, pe, dense, early)
        before = [t.clone() for t in (prep.side.keys, prep.side.key_pe, prep.side.keys_pe, *prep.side.projected)]
        first = fast(feats, pe, sparse, dense, early, prep)[0]
        second = fast(feats, pe, sparse, dense, early, prep)[0]
        after = (prep.side.keys, prep.side.key_pe, prep.side.keys_pe, *prep.side.projected)
    assert all(torch.equal(a, b) for a, b in zip(before, after))
    assert torch.equal(first, second)


def test_with_autograd_on_the_fast_path_does_not_write_in_place() -> None:
    torch.manual_seed(13)
    dec = build_model("mobile_sam").mask_decoder
    feats, pe, sparse, dense, _ = _decoder_inputs("mobile_sam", 1, 1)
    masks, iou, _ = FastDecoder(dec)(feats, pe, sparse, dense, mask_tokens=(1, 2, 3))  # grad mode: no in-place tricks
    assert masks.requires_grad and iou.requires_grad
    masks.sum().backward()
    assert dec.output_upscaling[0].weight.grad is not None


def test_cached_prep_from_inference_mode_serves_no_grad_calls(decoder: tuple[str, MaskDecoder]) -> None:
    model_id, dec = decoder
    feats, pe, sparse, dense, early = _decoder_inputs(model_id, 1, 1)
    fast = FastDecoder(dec)
    with torch.inference_mode():
        prep = fast.prepare(feats, pe, dense, early)
        first = fast(feats, pe, sparse, dense, early, prep)[0]
    with torch.no_grad():  # the prep's scratch tensors must stay writable outside inference_mode
        second = fast(feats, pe, sparse, dense, early, prep)[0]
    torch.testing.assert_close(second, first, atol=1e-6, rtol=0)


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_fast_decoder_on_each_device_equals_cpu_reference(decoder: tuple[str, MaskDecoder], device: str) -> None:
    """A copy of the decoder moved to every available device (CUDA where there is one) gives the
    CPU textbook result."""
    model_id, dec = decoder
    feats, pe, sparse, dense, early = _decoder_inputs(model_id, 2, 1)
    with torch.inference_mode():
        ref_masks, ref_iou, ref_hq = dec(feats, pe, sparse, dense, early)
    gpu = FastDecoder(copy.deepcopy(dec).to(device))
    with torch.inference_mode():
        cuda_args = [t.to(device) for t in (feats, pe, sparse, dense)]
        early_cuda = tuple(t.to(device) for t in early)
        prep = gpu.prepare(cuda_args[0], cuda_args[1], cuda_args[3], early_cuda)
        masks, iou, hq = gpu(*cuda_args, early_cuda, prep, mask_tokens=(1, 2, 3))
    torch.testing.assert_close(masks.cpu(), ref_masks[:, 1:], atol=1e-3, rtol=0)  # TF32 matmuls may be on
    torch.testing.assert_close(iou.cpu(), ref_iou, atol=1e-3, rtol=0)
    if hq is not None:
        torch.testing.assert_close(hq.cpu(), ref_hq, atol=1e-3, rtol=0)
