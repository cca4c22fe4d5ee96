"""Embedding cache: byte-bounded memory LRU, disk round trip in float16, never trusting bad files."""
from __future__ import annotations

import errno
import os
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from sam_backend import cache as cache_mod
from sam_backend.cache import CacheKey, EmbeddingCache, sha1_of_file
from sam_backend.types import ImageEmbedding

SHA_A = "a" * 40
SHA_B = "b" * 40


def _emb(seed: int = 0, hq: bool = False, side: int = 16) -> ImageEmbedding:
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(1, 256, side, side, generator=g)
    early = (torch.randn(1, side, side, 160, generator=g) * 3,) if hq else ()
    return ImageEmbedding("sam_hq_vit_tiny" if hq else "mobile_sam", feats, (480, 640), (768, 1024), early)


def _key(sha: str = SHA_A, model: str = "mobile_sam", version: int = 1) -> CacheKey:
    return CacheKey(model, sha, version)


def test_sha1_of_file(tmp_path: Path) -> None:
    f = tmp_path / "img.png"
    f.write_bytes(b"pixels" * 1000)
    assert sha1_of_file(f) == hashlib.sha1(b"pixels" * 1000).hexdigest()


@pytest.mark.parametrize("args", [("../x", SHA_A, 1), ("mobile_sam", "A" * 40, 1), ("mobile_sam", "ab", 1),
                                  ("mobile_sam", SHA_A, -1), ("", SHA_A, 1)])
def test_cache_key_rejects_unsafe_parts(args: tuple) -> None:
    with pytest.raises(ValueError):
        CacheKey(*args)


def test_memory_lru_is_bounded_in_bytes() -> None:
    one = _emb().nbytes()
    c = EmbeddingCache(max_bytes=2 * one + 10)
    keys = [_key(c * 40) for c in "abc"]
    for i, k in enumerate(keys):
        c.put(k, _emb(i))
    assert c.get(keys[0]) is None  # evicted first
    assert c.memory_bytes == 2 * one and len(c) == 2
    assert c.get(keys[1]) is not None  # refresh b: now c is the oldest
    c.put(keys[0], _emb(0))
    assert c.get(keys[2]) is None and c.get(keys[1]) is not None
    big = EmbeddingCache(max_bytes=one - 1)
    big.put(keys[0], _emb())
    assert len(big) == 0 and big.memory_bytes == 0


def test_memory_hit_returns_the_same_object() -> None:
    c = EmbeddingCache(max_bytes=10**8)
    e = _emb()
    c.put(_key(), e)
    assert c.get(_key(), "cpu") is e


@pytest.mark.parametrize("hq", [False, True])
def test_disk_round_trip_in_float16(tmp_path: Path, hq: bool) -> None:
    e = _emb(3, hq=hq)
    k = _key(model=e.model_id, version=2)
    EmbeddingCache(max_bytes=10**8, disk_dir=tmp_path).put(k, e)
    fresh = EmbeddingCache(max_bytes=10**8, disk_dir=tmp_path)  # a new process: memory empty
    got = fresh.get(k, torch.device("cpu"))
    assert got is not None
    assert got.features.dtype == torch.float32 and got.features.shape == e.features.shape
    assert (got.original_size, got.input_size, got.model_id, got.preprocess_version) == \
        ((480, 640), (768, 1024), e.model_id, 2)
    expected = e.features.half().float()
    assert torch.equal(got.features, expected)
    assert float((got.features - e.features).abs().max()) > 0  # really stored as float16
    assert len(got.early_features) == len(e.early_features)
    for a, b in zip(got.early_features, e.early_features):
        assert torch.equal(a, b.half().float())
    path = fresh.path_for(k)
    assert path.read_bytes()[:8] == b"SAMLEMB1"
    assert path.stat().st_size < e.nbytes() * 0.6  # float16 on disk
    assert fresh.get(k) is not None and len(fresh) == 1  # loaded into memory


def test_values_beyond_float16_are_kept_in_float32(tmp_path: Path) -> None:
    e = _emb()
    e.features[0, 0, 0, 0] = 1e6
    EmbeddingCache(0, tmp_path).put(_key(), e)
    got = EmbeddingCache(0, tmp_path).get(_key())
    assert got is not None and torch.equal(got.features, e.features)


def test_other_key_misses(tmp_path: Path) -> None:
    c = EmbeddingCache(0, tmp_path)
    c.put(_key(), _emb())
    assert c.get(_key(SHA_B)) is None
    assert c.get(_key(version=2)) is None
    assert c.get(_key(model="sam_vit_b")) is None
    assert c.on_disk(_key()) and not c.on_disk(_key(SHA_B))


def _corruptions(data: bytes) -> dict[str, bytes]:
    return {
        "truncated": data[: len(data) // 2],
        "bitflip": data[:200] + bytes([data[200] ^ 1]) + data[201:],
        "empty": b"",
        "foreign": b"\x93NUMPY" + data[6:],
        "pickle": b"\x80\x04\x95" + b"\x00" * 100,
    }


@pytest.mark.parametrize("kind", ["truncated", "bitflip", "empty", "foreign", "pickle"])
def test_corrupt_files_are_ignored_and_deleted(tmp_path: Path, kind: str) -> None:
    c = EmbeddingCache(0, tmp_path)
    c.put(_key(), _emb())
    path = c.path_for(_key())
    path.write_bytes(_corruptions(path.read_bytes())[kind])
    assert c.get(_key()) is None
    assert not path.exists()
    c.put(_key(), _emb())  # rewritten on the next put
    assert c.get(_key()) is not None


def test_entry_for_another_key_under_this_name_is_not_trusted(tmp_path: Path) -> None:
    c = EmbeddingCache(0, tmp_path)
    c.put(_key(SHA_B), _emb(1))
    target = c.path_for(_key(SHA_A))
    target.parent.mkdir(parents=True, exist_ok=True)
    c.path_for(_key(SHA_B)).replace(target)  # a valid entry, but for image b
    assert c.get(_key(SHA_A)) is None and not target.exists()


def test_other_format_version_is_a_miss(tmp_path: Path) -> None:
    data = cache_mod.encode_entry(_key(), _emb())
    body = bytearray(data[:-32])
    struct.pack_into("<I", body, 8, cache_mod.FORMAT_VERSION + 1)
    forged = bytes(body) + hashlib.blake2b(bytes(body), digest_size=32).digest()
    with pytest.raises(ValueError, match="other format version"):
        cache_mod.decode_entry(forged, _key(), torch.device("cpu"))


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = EmbeddingCache(0, tmp_path)
    c.put(_key(), _emb(1))
    before = c.path_for(_key()).read_bytes()

    def boom(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_mod.os, "replace", boom)
    c.put(_key(), _emb(2))  # lenient: recorded, not raised
    assert c.last_disk_error is not None and "No space left" in c.last_disk_error
    with pytest.raises(OSError):
        c.put(_key(), _emb(2), strict=True)
    monkeypatch.undo()
    assert c.path_for(_key()).read_bytes() == before
    assert [p.name for p in c.path_for(_key()).parent.iterdir()] == [c.path_for(_key()).name]


def test_disk_budget_removes_least_recently_used(tmp_path: Path) -> None:
    size = len(cache_mod.encode_entry(_key(), _emb()))
    c = EmbeddingCache(0, tmp_path, disk_max_bytes=int(size * 2.5))
    shas = [ch * 40 for ch in "abcd"]
    for i, sha in enumerate(shas):
        c.put(_key(sha), _emb(i))
        os.utime(c.path_for(_key(sha)), ns=(10**18 + i * 10**9, 10**18 + i * 10**9))
        if i == 1:
            c.get(_key(shas[0]))  # touch a: now b is the least recently used
            os.utime(c.path_for(_key(shas[0])), ns=(10**18 + 5 * 10**9,) * 2)
    remaining = {p.name[:1] for p in tmp_path.rglob("*.emb")}
    total = sum(p.stat().st_size for p in tmp_path.rglob("*.emb"))
    assert total <= size * 2.5
    assert "d" in remaining and "b" not in remaining


def test_device_argument_moves_memory_entries() -> None:
    c = EmbeddingCache(10**8)
    e = _emb()
    c.put(_key(), e)
    got = c.get(_key(), torch.device("cpu"))
    assert got is e
    assert np.allclose(got.features.numpy(), e.features.numpy())


@pytest.fixture
def mobile_sam_predictor_and_embedding() -> tuple[object, ImageEmbedding]:
    """A randomly initialised mobile_sam (seeded) and the real encoder output for a random image."""
    from sam_backend import SamPredictor, build_model

    torch.manual_seed(0)
    predictor = SamPredictor(build_model("mobile_sam"), "mobile_sam", "cpu")
    image = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    return predictor, predictor.encode(image)


def test_predict_from_disk_cache_matches_fresh_embedding(tmp_path: Path,
                                                         mobile_sam_predictor_and_embedding: tuple) -> None:
    predictor, emb = mobile_sam_predictor_and_embedding
    prompt = {"points": [(40, 30), (100, 80)], "labels": [1, 0], "box": (5, 5, 150, 110)}
    key = _key("c" * 40)
    EmbeddingCache(0, tmp_path).put(key, emb)
    cached = EmbeddingCache(0, tmp_path).get(key, predictor.device)
    assert cached is not None and cached.features.dtype == torch.float32
    fresh_pred = predictor.predict(emb, **prompt)
    cached_pred = predictor.predict(cached, **prompt)
    low_diff = float(np.abs(fresh_pred.low_res_logits - cached_pred.low_res_logits).max())
    full_diff = max(float(np.abs(fresh_pred.logits(k) - cached_pred.logits(k)).max()) for k in range(3))
    agreement = float((fresh_pred.masks == cached_pred.masks).mean())
    # float16 keeps ~11 significant bits: features of magnitude <= 4 are rounded by <= 2e-3, which moves
    # these logits (|logit| < 1 for this random model) by well under 1e-3
    assert low_diff < 1e-3 and full_diff < 1e-3
    assert agreement > 0.999
    assert np.allclose(fresh_pred.scores, cached_pred.scores, atol=1e-4)
    assert low_diff > 0.0  # the cached features really went through float16


def _forge(header: dict, payload: bytes) -> bytes:
    import json

    raw = json.dumps(header).encode()
    body = cache_mod.MAGIC + struct.pack("<II", cache_mod.FORMAT_VERSION, len(raw)) + raw + payload
    return body + hashlib.blake2b(body, digest_size=32).digest()


@pytest.mark.parametrize("tensors, payload, reason", [
    ([{"name": "features", "shape": [1, 256, 64, 64], "dtype": "float16"}], b"\0" * 10, "truncated"),
    ([{"name": "features", "shape": [2, 2], "dtype": "object"}], b"\0" * 8, "bad tensor"),
    ([{"name": "features", "shape": [2, -2], "dtype": "float16"}], b"\0" * 8, "bad tensor"),
    ([{"name": "features", "shape": [2, 2], "dtype": "float16"}], b"\0" * 9, "trailing"),
    ([], b"", "bad header"),
])
def test_well_checksummed_but_inconsistent_entries_are_rejected(tensors: list, payload: bytes, reason: str) -> None:
    header = {"key": _key().as_json(), "model_id": "mobile_sam", "original_size": [4, 4], "input_size": [4, 4],
              "tensors": tensors}
    with pytest.raises(ValueError, match=reason):
        cache_mod.decode_entry(_forge(header, payload), _key(), torch.device("cpu"))
    ok = _forge(dict(header, tensors=[{"name": "features", "shape": [2, 2], "dtype": "float16"}]),
                np.arange(4, dtype="<f2").tobytes())
    assert cache_mod.decode_entry(ok, _key(), torch.device("cpu")).features.tolist() == [[0, 1], [2, 3]]
