"""The compiled conversion loops and the OpenCV JPEG codec give what the NumPy loops and
Pillow give: the same values, the same bytes, the same metadata."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from kernels.io import CorruptImage, build_profile, decode, encode, native
from kernels.io.colour import encoding
from kernels.io.convert import from_working, to_working
from kernels.io.encode import encode_8bit

from .conftest import jpeg_bytes

SPACES = ["srgb", "display-p3", "adobe-rgb", "prophoto"]


def test_the_compiled_loops_are_built_on_this_host():
    assert native.available()


@pytest.mark.parametrize("space", SPACES)
def test_compiled_decode_equals_numpy_bit_for_bit(cat, space):
    enc = encoding(space)
    assert np.array_equal(to_working(cat, enc), to_working(cat, enc, native_loops=False))
    sixteen = cat.astype(np.uint16) * 257 + 5
    assert np.array_equal(to_working(sixteen, enc), to_working(sixteen, enc, native_loops=False))
    bgr = np.ascontiguousarray(cat[..., ::-1])
    assert np.array_equal(to_working(bgr, enc, swap_rb=True), to_working(cat, enc))


@pytest.mark.parametrize("width", [1, 63, 64, 65, 200, 333])
def test_compiled_decode_reads_every_code_in_every_lane_as_numpy_does(width):
    # The 8-bit decode end looks codes up in blocks of 64 pixels (byte permutes where the host
    # has them) with a masked tail: every code value, in every channel and at every position of
    # a block and of a partial one, must read the same table entry as NumPy's lookup.
    rng = np.random.default_rng(width)
    rows = -(-256 * 3 // width) + 2
    codes = rng.permutation(np.resize(np.arange(256, dtype=np.uint8), rows * width * 3))
    img = codes.reshape(rows, width, 3)
    for space in ("srgb", "prophoto"):
        enc = encoding(space)
        expected = to_working(img, enc, native_loops=False)
        assert np.array_equal(to_working(img, enc), expected)
        bgr = np.ascontiguousarray(img[..., ::-1])
        assert np.array_equal(to_working(bgr, enc, swap_rb=True), expected)


@pytest.mark.parametrize("space", ["srgb", "display-p3", "adobe-rgb"])
@pytest.mark.parametrize("dither", [True, False])
def test_compiled_encode_matches_numpy_within_one_code(cat, space, dither):
    """Same ops in the same order; only the 3x3 product's last bit may differ from BLAS,
    which can move a code by one, rarely."""
    enc = encoding(space)
    rgb = to_working(cat, encoding("srgb")) * np.float32(1.3)  # some values clip
    ours = from_working(rgb, enc, 8, dither=dither).astype(int)
    ref = from_working(rgb, enc, 8, dither=dither, native_loops=False).astype(int)
    assert np.abs(ours - ref).max() <= 1
    assert (ours == ref).mean() > 0.999


def test_banded_and_bgr_encodes_line_up_with_the_whole_image(cat):
    enc = encoding("srgb")
    rgb = to_working(cat, enc)
    whole = from_working(rgb, enc, 8)
    for native_loops in (True, False):
        band = from_working(rgb[70:200], enc, 8, y0=70, native_loops=native_loops)
        assert np.array_equal(band, from_working(rgb, enc, 8, native_loops=native_loops)[70:200])
    assert np.array_equal(from_working(rgb, enc, 8, swap_rb=True), whole[..., ::-1])


def test_nan_and_out_of_range_values_quantise_like_numpy():
    enc = encoding("srgb")
    rgb = np.array([[[np.nan] * 3, [-1.0] * 3, [2.0] * 3, [0.5, np.nan, 0.5]]], dtype=np.float32)
    ours = from_working(rgb, enc, 8, dither=False)
    assert ours[0, :, 0].tolist() == [0, 0, 255, 0]  # NaN is black, like any channel it touches
    with np.errstate(invalid="ignore"):  # NumPy's NaN -> int cast warns, and gives 0
        ref = from_working(rgb, enc, 8, dither=False, native_loops=False)
    assert np.array_equal(ours, ref)


@pytest.mark.parametrize("hint", [None, 100, 200, 300])
def test_jpeg_decodes_like_pillow_with_and_without_dct_scaling(cat, hint):
    blob = jpeg_bytes(cat, quality=93)
    ours = from_working(decode(blob, size_hint=hint).rgb, encoding("srgb"), 8, dither=False)
    with Image.open(io.BytesIO(blob)) as im:
        if hint:
            scale = hint / max(im.size)
            im.draft("RGB", (round(im.width * scale), round(im.height * scale)))
        pil = np.asarray(im.convert("RGB"))
    assert ours.shape == pil.shape
    assert np.array_equal(ours, pil)


@pytest.mark.parametrize(
    "kw",
    [
        {"quality": 90},
        {"quality": 70, "progressive": True},
        {"quality": 95, "subsampling": "4:4:4"},
        {"quality": 85, "subsampling": "4:2:2"},
    ],
)
def test_jpeg_files_are_the_bytes_pillow_writes(cat, kw):
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"
    exif[0x8298] = "(c) someone"
    icc = build_profile("display-p3")
    sampling = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}[kw.get("subsampling", "4:2:0")]
    progressive = bool(kw.get("progressive", False))
    buf = io.BytesIO()
    Image.fromarray(cat).save(
        buf,
        "JPEG",
        quality=kw["quality"],
        subsampling=sampling,
        progressive=progressive,
        optimize=progressive,
        icc_profile=icc,
        exif=exif.tobytes(),
    )
    ours = encode_8bit(
        cat, bgr=False, profile="display-p3", metadata_policy="keep_all",
        metadata_source=exif.tobytes(), **kw,
    )  # fmt: skip
    with Image.open(io.BytesIO(ours)) as im:
        assert im.info["icc_profile"] == icc
        assert im.getexif()[0x010F] == "Camera Maker"
        assert np.array_equal(np.asarray(im), np.asarray(Image.open(buf)))


def test_a_profile_longer_than_one_segment_is_split_as_pillow_splits_it(cat):
    icc = build_profile("srgb") + bytes(range(256)) * 600  # 150 kB: three APP2 chunks
    from kernels.io import jpeg

    ours = jpeg.encode_bgr(cat[..., ::-1].copy(), quality=80, icc_profile=icc)
    buf = io.BytesIO()
    Image.fromarray(cat).save(buf, "JPEG", quality=80, icc_profile=icc)
    assert ours == buf.getvalue()


def test_encode_writes_what_it_always_wrote_through_pillow(cat):
    rgb = to_working(cat, encoding("srgb"))
    pixels = from_working(rgb, encoding("srgb"), 8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=88, icc_profile=build_profile("srgb"))
    assert encode(rgb, format="jpeg", quality=88, metadata_policy="strip_all") == buf.getvalue()


def test_grey_jpeg_takes_pillows_path_and_truncated_ones_are_refused(cat):
    grey = jpeg_bytes(cat[..., 1])
    rgb = decode(grey).rgb
    assert np.allclose(rgb[..., 0], rgb[..., 1], atol=1e-6)
    blob = jpeg_bytes(cat)
    with pytest.raises(CorruptImage):
        decode(blob[: len(blob) - 200])


def test_a_truncated_jpeg_is_refused_even_with_a_whole_jpeg_in_its_header(cat):
    """The completeness check starts at the frame's own first scan, found by walking the
    markers: a byte search stopped at the SOS of an embedded (EXIF-style) thumbnail and then
    took that thumbnail's EOI for the frame's."""
    inner = jpeg_bytes(cat[:16, :16])
    blob = jpeg_bytes(cat)
    comment = b"\xff\xfe" + (len(inner) + 2).to_bytes(2, "big") + inner
    carrier = blob[:2] + comment + blob[2:]
    assert decode(carrier).rgb.shape == (*cat.shape[:2], 3)
    with pytest.raises(CorruptImage, match="truncated"):  # refused before the codec runs
        decode(carrier[: len(carrier) - 200])
