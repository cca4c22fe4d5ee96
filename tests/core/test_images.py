"""The image loader: EXIF rotation, colour modes, bit depths, frames, and every way a file can be bad."""
from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from app.core import images
from app.core.errors import ImageLoadError
from app.core.images import IMAGE_EXTENSIONS, MAX_PIXELS, is_image_path, load_image, probe_image


def _with_orientation(im: Image.Image, path: Path, orientation: int, **kw: object) -> Path:
    exif = Image.Exif()
    exif[0x0112] = orientation
    im.save(path, exif=exif, **kw)
    return path


def _marked(w: int = 40, h: int = 20) -> Image.Image:
    """Blue image with a red block at the stored top-left and a green block at the stored top-right."""
    a = np.zeros((h, w, 3), np.uint8)
    a[:, :] = (0, 0, 255)
    a[:6, :6] = (255, 0, 0)
    a[:6, -6:] = (0, 255, 0)
    return Image.fromarray(a)


def _close(px: np.ndarray, rgb: tuple[int, int, int], tol: int = 40) -> bool:
    return bool(np.all(np.abs(px.astype(int) - rgb) <= tol))


def _png_header_only(path: Path, w: int, h: int) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


# ------------------------------------------------------------------------------------------------ EXIF
def test_exif_orientation_6_rotates_clockwise(tmp_path: Path) -> None:
    p = _with_orientation(_marked(), tmp_path / "o6.jpg", 6, quality=95)
    info = probe_image(p)
    assert (info.width, info.height, info.exif_orientation) == (20, 40, 6)
    img = load_image(p)
    a = img.array
    assert a.shape == (40, 20, 3) and a.dtype == np.uint8 and a.flags.c_contiguous and a.flags.writeable
    assert _close(a[2, -3], (255, 0, 0))  # stored top-left -> displayed top-right
    assert _close(a[-3, -3], (0, 255, 0))  # stored top-right -> displayed bottom-right
    assert _close(a[20, 5], (0, 0, 255))
    assert any("orientation 6" in n for n in img.info.notes)


def test_exif_orientation_8_rotates_counter_clockwise(tmp_path: Path) -> None:
    p = _with_orientation(_marked(), tmp_path / "o8.jpg", 8, quality=95)
    a = load_image(p).array
    assert a.shape == (40, 20, 3)
    assert _close(a[-3, 2], (255, 0, 0))  # stored top-left -> displayed bottom-left
    assert _close(a[2, 2], (0, 255, 0))  # stored top-right -> displayed top-left


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_pillow_exif_transpose(tmp_path: Path, orientation: int) -> None:
    base = Image.fromarray(np.random.default_rng(orientation).integers(0, 255, (7, 11, 3), dtype=np.uint8))
    p = _with_orientation(base, tmp_path / f"o{orientation}.png", orientation)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(p)).convert("RGB"))
    got = load_image(p)
    assert np.array_equal(got.array, expected)
    assert got.array.flags.c_contiguous and got.array.flags.writeable
    assert (got.info.width, got.info.height) == (expected.shape[1], expected.shape[0])


def test_invalid_orientation_is_ignored(tmp_path: Path) -> None:
    p = _with_orientation(_marked(), tmp_path / "o9.png", 9)
    info = probe_image(p)
    assert (info.width, info.height, info.exif_orientation) == (40, 20, 1)


# ------------------------------------------------------------------------------------------------ modes
def test_grayscale_and_bilevel_become_rgb(tmp_path: Path) -> None:
    g = np.arange(60, dtype=np.uint8).reshape(6, 10) * 4
    Image.fromarray(g, mode="L").save(tmp_path / "g.png")
    a = load_image(tmp_path / "g.png").array
    assert a.shape == (6, 10, 3)
    assert np.array_equal(a[:, :, 0], g) and np.array_equal(a[:, :, 1], g) and np.array_equal(a[:, :, 2], g)
    Image.fromarray(g > 100).save(tmp_path / "b.png")
    b = load_image(tmp_path / "b.png").array
    assert np.array_equal(b[:, :, 0], np.where(g > 100, 255, 0))


def test_palette_uses_palette_colours(tmp_path: Path) -> None:
    im = Image.new("P", (4, 3))
    im.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    im.putpixel((1, 1), 1)
    im.save(tmp_path / "p.png")
    a = load_image(tmp_path / "p.png").array
    assert tuple(a[0, 0]) == (10, 20, 30) and tuple(a[1, 1]) == (200, 100, 50)


def test_palette_transparency_is_composited_onto_white(tmp_path: Path) -> None:
    im = Image.new("P", (4, 3))
    im.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    im.putpixel((1, 1), 1)
    im.save(tmp_path / "pt.png", transparency=0)
    img = load_image(tmp_path / "pt.png")
    assert tuple(img.array[0, 0]) == (255, 255, 255)
    assert tuple(img.array[1, 1]) == (200, 100, 50)
    assert any("white" in n for n in img.info.notes)


def test_rgba_and_la_alpha_composited_onto_white(tmp_path: Path) -> None:
    a = np.zeros((2, 3, 4), np.uint8)
    a[0, 0] = (200, 0, 0, 0)  # fully transparent -> white
    a[0, 1] = (200, 0, 0, 255)  # opaque -> itself
    a[0, 2] = (0, 0, 0, 128)  # half -> mid grey
    Image.fromarray(a, mode="RGBA").save(tmp_path / "a.png")
    got = load_image(tmp_path / "a.png").array
    assert tuple(got[0, 0]) == (255, 255, 255)
    assert tuple(got[0, 1]) == (200, 0, 0)
    assert all(abs(int(v) - 127) <= 1 for v in got[0, 2])
    la = Image.fromarray(np.array([[[50, 0], [50, 255]]], np.uint8), mode="LA")
    la.save(tmp_path / "la.png")
    got = load_image(tmp_path / "la.png").array
    assert tuple(got[0, 0]) == (255, 255, 255) and tuple(got[0, 1]) == (50, 50, 50)


def test_16_bit_png_and_tiff_keep_the_high_byte(tmp_path: Path) -> None:
    v = (np.arange(12 * 9, dtype=np.uint32).reshape(9, 12) * 601).astype(np.uint16)
    for name in ("g16.png", "g16.tif"):
        cv2.imwrite(str(tmp_path / name), v)
        img = load_image(tmp_path / name)
        assert np.array_equal(img.array[:, :, 1], (v >> 8).astype(np.uint8)), name
        assert any("16-bit" in n for n in img.info.notes), name
    rgb = np.random.default_rng(3).integers(0, 65536, (5, 7, 3)).astype(np.uint16)
    for name in ("rgb48.png", "rgb48.tif"):
        cv2.imwrite(str(tmp_path / name), rgb[:, :, ::-1])  # cv2 writes BGR
        img = load_image(tmp_path / name)
        assert np.array_equal(img.array, (rgb >> 8).astype(np.uint8)), name
        assert any("16-bit" in n for n in img.info.notes), name


def test_float_and_int32_tiff(tmp_path: Path) -> None:
    f = np.linspace(-1.0, 3.0, 20, dtype=np.float32).reshape(4, 5)
    Image.fromarray(f, mode="F").save(tmp_path / "f.tif")
    a = load_image(tmp_path / "f.tif").array[:, :, 0]
    assert a[0, 0] == 0 and a[-1, -1] == 255 and np.all(np.diff(a.ravel().astype(int)) >= 0)
    i = np.array([[0, 256, 65535, 100000]], np.int32)
    Image.fromarray(i, mode="I").save(tmp_path / "i.tif")
    assert load_image(tmp_path / "i.tif").array[0, :, 0].tolist() == [0, 1, 255, 255]


def test_cmyk_jpeg_looks_right(tmp_path: Path) -> None:
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=95)
    assert Image.open(tmp_path / "c.jpg").info.get("adobe") is not None  # inverted Adobe CMYK
    img = load_image(tmp_path / "c.jpg")
    assert _close(img.array[8, 8], (255, 0, 0), tol=20)
    assert img.info.mode == "CMYK" and any("CMYK" in n for n in img.info.notes)


def test_multipage_tiff_and_gif_use_first_frame(tmp_path: Path) -> None:
    pages = [Image.new("RGB", (8, 6), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    pages[0].save(tmp_path / "m.tif", save_all=True, append_images=pages[1:])
    img = load_image(tmp_path / "m.tif")
    assert img.info.frames == 3 and tuple(img.array[0, 0]) == (255, 0, 0)
    assert "first of 3 frames used" in img.info.notes
    pages[0].save(tmp_path / "m.gif", save_all=True, append_images=pages[1:])
    gif = load_image(tmp_path / "m.gif")
    assert gif.info.frames == 3 and _close(gif.array[0, 0], (255, 0, 0), tol=10)


# ------------------------------------------------------------------------------------------------ limits
def test_huge_header_is_refused_with_sizes_and_no_pillow_warning(tmp_path: Path) -> None:
    p = _png_header_only(tmp_path / "huge.png", 50000, 40000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageLoadError) as err:
            probe_image(p)
        with pytest.raises(ImageLoadError):
            load_image(p)
    assert "50000x40000 = 2000 MP" in err.value.reason and f"{MAX_PIXELS // 10**6} MP" in err.value.reason


def test_images_above_pillows_limit_but_below_ours_are_probed(tmp_path: Path) -> None:
    p = _png_header_only(tmp_path / "big.png", 15000, 15000)  # 225 MP > Pillow's 179 MP error limit
    info = probe_image(p)
    assert (info.width, info.height) == (15000, 15000)


def test_max_pixels_is_checked_at_call_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Image.new("RGB", (30, 20)).save(tmp_path / "s.png")
    monkeypatch.setattr(images, "MAX_PIXELS", 500)
    with pytest.raises(ImageLoadError, match=r"30x20 = 0.0006 MP, above the 0.0005 MP limit"):
        load_image(tmp_path / "s.png")


# ------------------------------------------------------------------------------------------------ bad files
def test_truncated_jpeg_and_png(tmp_path: Path) -> None:
    data = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    for name in ("t.jpg", "t.png"):
        Image.fromarray(data).save(tmp_path / name)
        raw = (tmp_path / name).read_bytes()
        (tmp_path / name).write_bytes(raw[: len(raw) // 2])
        probe_image(tmp_path / name)  # the header is intact: probing cannot see the damage
        with pytest.raises(ImageLoadError) as err:
            load_image(tmp_path / name)
        fmt = "JPEG" if name.endswith("jpg") else "PNG"
        assert err.value.reason == f"truncated {fmt} data (the file is incomplete)"


@pytest.mark.parametrize(
    "name,content,reason",
    [
        ("zero.jpg", b"", "file is empty (0 bytes)"),
        ("text.jpg", b"just some notes\nnot a picture\n", "not an image file (looks like a text file)"),
        ("utf8.png", ("\u00e9t\u00e9 " * 200).encode("utf-8"), "not an image file (looks like a text file)"),
        ("doc.png", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "not an image file (looks like a PDF document)"),
        ("arch.jpg", b"PK\x03\x04\x14\x00\x00\x00", "not an image file (looks like a ZIP archive or Office document)"),
        ("phone.jpg", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "unsupported format (HEIC/HEIF; convert it to JPEG or PNG first)"),
        ("junk.png", bytes(range(256)) * 4, "not an image file, or an unsupported image format"),
        ("head.jpg", b"\xff\xd8\xff\xe0\x00\x10JF", "truncated JPEG data (the file is incomplete)"),
    ],
)
def test_bad_files_have_human_reasons(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    for fn in (probe_image, load_image):
        with pytest.raises(ImageLoadError) as err:
            fn(p)
        assert err.value.reason == reason
        assert err.value.path == str(p) and str(err.value) == f"{p}: {reason}"


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match="file not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageLoadError, match="is a directory"):
        probe_image(tmp_path)


# ------------------------------------------------------------------------------------------------ misc
def test_probe_agrees_with_load(tmp_path: Path) -> None:
    p = _with_orientation(_marked(33, 17), tmp_path / "x.png", 6)
    info = probe_image(p)
    assert load_image(p).info == info
    assert (info.format, info.mode, info.frames) == ("PNG", "RGB", 1)


def test_extensions() -> None:
    assert all(e.startswith(".") and e == e.lower() for e in IMAGE_EXTENSIONS)
    assert is_image_path(Path("a/B.JPG")) and is_image_path(Path("x.tiff"))
    assert not is_image_path(Path("notes.txt")) and not is_image_path(Path("p.samlabel"))
