"""Storage encoding of geometry and RLE used by the project store."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core import codec
from app.core.model import Part

FLOATS = st.floats(allow_nan=False, allow_infinity=False, width=64)
RING = st.lists(st.tuples(FLOATS, FLOATS), min_size=3, max_size=8).map(tuple)
PARTS = st.lists(st.builds(Part, exterior=RING, holes=st.lists(RING, max_size=2).map(tuple)), max_size=3).map(tuple)


@settings(max_examples=60, deadline=None)
@given(PARTS)
def test_parts_round_trip_exactly(parts: tuple[Part, ...]) -> None:
    assert codec.decode_parts(codec.encode_parts(parts)) == parts


def test_float32_only_when_exact() -> None:
    contour = (Part(exterior=tuple((float(i), float(i) + 0.5) for i in range(40))),)
    edited = (Part(exterior=tuple((i + 0.1, float(i)) for i in range(40))),)
    small, big = codec.encode_parts(contour), codec.encode_parts(edited)
    assert small[2:3] == b"f" and big[2:3] == b"d"
    assert len(small) < 0.6 * len(big)  # 4-byte coordinates for typical mask contours
    assert codec.decode_parts(big) == edited


def test_corrupt_blob_is_reported() -> None:
    with pytest.raises(ValueError, match="corrupt"):
        codec.decode_parts(b"XX" + b"\x00" * 20)


def test_rle_forms() -> None:
    assert codec.decode_rle(*codec.encode_rle({"size": [4, 5], "counts": b"ab3"})) == {"size": [4, 5], "counts": "ab3"}
    assert codec.decode_rle(*codec.encode_rle({"size": [2, 3], "counts": [1, 4, 1]})) == {"size": [2, 3],
                                                                                           "counts": [1, 4, 1]}
    assert codec.encode_rle(None) == (None, None, None) and codec.decode_rle(None, None, None) is None
    for bad in ({"size": [2]}, {"size": [2, 2], "counts": 3.5}, {"size": [-1, 2], "counts": "a"},
                {"size": [2, 2], "counts": [-1]}):
        with pytest.raises(ValueError):
            codec.encode_rle(bad)


def test_large_geometry_reads_are_memoised_and_equal_to_unpacking() -> None:
    from app.core import codec

    ring = tuple((float(i % 97) + 0.5, float(i // 97)) for i in range(3000))
    parts = (Part(exterior=ring), Part(exterior=((0.0, 0.0), (4.0, 0.0), (0.0, 4.0)), holes=()))
    blob = codec.encode_parts(parts)
    assert len(blob) > codec.PartsMemo.MIN_BYTES
    memo = codec.PartsMemo()
    first = codec.decode_parts(blob, memo)
    again = codec.decode_parts(bytes(blob), memo)  # an equal blob from a new read
    assert again is first  # served from the memo
    assert codec.decode_parts(blob) is not first  # no memo given: decoded again
    assert first == codec._unpack_parts(blob) == parts


def test_geometry_memo_is_bounded_by_bytes() -> None:
    memo = codec.PartsMemo(max_bytes=10_000)
    blobs = [bytes([i]) * 4_500 for i in range(4)]
    for b in blobs:
        memo.put(codec.EncodedParts((), b))
    assert memo.get(blobs[0]) is None and memo.get(blobs[1]) is None
    assert memo.get(blobs[3]) == ()


def _big_parts(offset: float = 0.5) -> tuple[Part, ...]:
    ring = tuple((float(i % 97) + offset, float(i // 97)) for i in range(3000))
    return (Part(exterior=ring),)


def test_encoded_parts_carry_their_blob_through_pickling_and_the_store(tmp_path) -> None:
    import pickle

    from app.core.model import Annotation
    from app.core.project import Project

    parts = _big_parts(0.25)
    enc = codec.encoded(parts)
    assert enc == parts and enc.blob == codec._pack_parts(parts)
    assert codec.encode_parts(enc) is enc.blob  # no packing again
    assert codec.encoded(enc) is enc
    back = pickle.loads(pickle.dumps(enc))
    assert type(back) is codec.EncodedParts and back == parts and back.blob == enc.blob
    assert codec.decode_parts(enc.blob).blob == enc.blob
    proj = Project.create(tmp_path / "p.samlabel")
    try:
        img = proj.add_image("a.png", 200, 100)
        lab = proj.add_label_class("x", "#ff0000")
        stored = proj.add_annotation(Annotation(img.id, lab.id, back))
        assert stored.parts is back  # the store's read-back returns the written parts (its memo)
        assert proj.annotations(img.id)[0].parts is back
    finally:
        proj.close()


def test_parts_not_in_unpacked_form_are_read_back_as_floats() -> None:
    ring = tuple((i % 97, i // 97) for i in range(3000))  # ints: unpacking gives floats
    parts = (Part(exterior=ring),)
    blob = codec.encode_parts(parts)
    got = codec.decode_parts(blob, codec.PartsMemo())
    assert got is not parts and got == parts
    assert all(type(v) is float for pt in got[0].exterior for v in pt)


def test_memos_are_safe_under_concurrent_packing_and_reading() -> None:
    import threading

    tuples = [_big_parts(0.5 + k / 64) for k in range(40)]
    blobs = [codec._pack_parts(t) for t in tuples]
    memo = codec.PartsMemo(max_bytes=200_000)  # smaller than all of them: entries come and go
    errors: list[BaseException] = []

    def pack() -> None:
        try:
            for _ in range(5):
                for t, b in zip(tuples, blobs):
                    assert codec.encode_parts(t) == b
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    def read() -> None:
        try:
            for _ in range(5):
                for t, b in zip(tuples, blobs):
                    assert codec.decode_parts(b, memo) == t
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=f) for f in (pack, read, pack, read)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
