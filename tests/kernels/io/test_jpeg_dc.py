"""The 1/8-scale decoder for thumbnails gives libjpeg's pixels for baseline files (4:4:4,
4:2:2, 4:2:0) and pixels close to them for progressive ones on real photographs, decodes in
parallel with and without restart markers, and leaves what it does not support to libjpeg."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from kernels.io import ImageIOError, jpeg, jpeg_dc, make_thumbnail

from .conftest import jpeg_bytes

PHOTOS = ["astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry"]
SAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}

# Progressive files: only the DC first scan is read. It lacks its Al low bits (libjpeg's
# scripts: Al = 1), so a DC is off by up to a quantiser step / 8: on these photographs at q75,
# per channel, mean 2.2 and max 6 for 4:4:4. For 4:2:0 libjpeg also has the chroma AC
# coefficients of later scans for its 2x2 chroma IDCT, which our DC stands in for: mean 5.8,
# max 78 (blue, at saturated colour edges).
TOLERANCE_PROGRESSIVE_444 = (3.0, 8)  # mean, max per channel
TOLERANCE_PROGRESSIVE_420 = (7.0, 96)


@pytest.fixture(scope="module", params=PHOTOS)
def photograph(request) -> np.ndarray:
    return getattr(data, request.param)()


def enlarged(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BICUBIC))


def libjpeg_eighth(blob: bytes) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_REDUCED_COLOR_8)
    assert bgr is not None
    return bgr


def ours(blob: bytes, threads: int | None = None) -> jpeg_dc.Decoded:
    decoded = jpeg_dc.decode(blob, threads)
    assert decoded is not None
    return decoded


def assert_close(got: np.ndarray, want: np.ndarray, mean: float, max_: int) -> None:
    assert got.shape == want.shape
    diff = np.abs(got.astype(int) - want.astype(int)).reshape(-1, 3)
    assert (diff.mean(axis=0) <= mean).all(), diff.mean(axis=0)
    assert (diff.max(axis=0) <= max_).all(), diff.max(axis=0)


def test_the_decoder_is_built_on_this_host():
    assert jpeg_dc.available()


@pytest.mark.parametrize("sampling", ["4:4:4", "4:2:2", "4:2:0"])
@pytest.mark.parametrize("quality", [60, 90, 95])
def test_baseline_files_are_libjpegs_pixels(photograph, sampling, quality):
    """4:2:0 chroma included: libjpeg reads it with a 2x2 IDCT at this scale, and so do we."""
    blob = jpeg_bytes(photograph, quality=quality, subsampling=SAMPLING[sampling])
    assert np.array_equal(ours(blob).bgr, libjpeg_eighth(blob))


def test_progressive_files_are_read_from_their_dc_scan_within_tolerance(photograph):
    blob = jpeg_bytes(photograph, quality=75, progressive=True, subsampling=0)
    assert_close(ours(blob).bgr, libjpeg_eighth(blob), *TOLERANCE_PROGRESSIVE_444)
    blob = jpeg_bytes(photograph, quality=75, progressive=True, subsampling=2)
    assert_close(ours(blob).bgr, libjpeg_eighth(blob), *TOLERANCE_PROGRESSIVE_420)


@pytest.mark.parametrize("threads", [2, 3, 4])
@pytest.mark.parametrize("sampling", ["4:4:4", "4:2:2", "4:2:0"])
def test_speculative_starts_sync_and_give_the_one_thread_pixels(photograph, threads, sampling):
    """No restart markers: threads after the first start at arbitrary bits; every one of them
    found its sync point on these photographs (see docs/io.md for the count)."""
    rgb = enlarged(photograph, (1800, 1300))
    blob = jpeg_bytes(rgb, quality=90, subsampling=SAMPLING[sampling])
    one = ours(blob, 1)
    many = ours(blob, threads)
    assert one.threads == 1
    assert 1 < many.threads <= threads  # each thread gets at least 64 kB of data
    assert (many.syncs, many.intervals) == (many.threads - 1, 0)
    assert np.array_equal(many.bgr, one.bgr)
    assert np.array_equal(many.bgr, libjpeg_eighth(blob))


@pytest.mark.parametrize("restart", [{"restart_marker_rows": 1}, {"restart_marker_blocks": 7}])
@pytest.mark.parametrize("sampling", ["4:4:4", "4:2:0"])
def test_restart_intervals_are_decoded_in_parallel(photo, restart, sampling):
    rgb = enlarged(photo, (1500, 1000))
    blob = jpeg_bytes(rgb, quality=90, subsampling=SAMPLING[sampling], **restart)
    decoded = ours(blob, 2)
    assert (decoded.threads, decoded.syncs) == (2, 0)
    assert decoded.intervals > 1
    assert np.array_equal(decoded.bgr, libjpeg_eighth(blob))
    assert np.array_equal(decoded.bgr, ours(blob, 1).bgr)


def test_our_own_strip_encoded_exports_decode_by_interval(photo):
    """kernels.io's parallel encode writes restart markers between its strips."""
    from kernels.io import encode_8bit

    blob = encode_8bit(enlarged(photo, (1600, 1200)), bgr=False)
    decoded = ours(blob, 2)
    assert decoded.intervals > 1
    assert np.array_equal(decoded.bgr, libjpeg_eighth(blob))


@pytest.mark.parametrize("size", [(1, 1), (17, 9), (9, 17), (1001, 777), (640, 7)])
@pytest.mark.parametrize("sampling", ["4:4:4", "4:2:2", "4:2:0"])
def test_odd_sizes(photo, size, sampling):
    blob = jpeg_bytes(enlarged(photo, size), quality=90, subsampling=SAMPLING[sampling])
    assert np.array_equal(ours(blob).bgr, libjpeg_eighth(blob))


def _patched(blob: bytes, offset: int, value: int) -> bytes:
    return blob[:offset] + bytes([value]) + blob[offset + 1 :]


def test_what_the_decoder_does_not_take_is_left_to_libjpeg(photo):
    blob = jpeg_bytes(photo, quality=90)
    sof = jpeg.header(blob).sof
    unsupported = {
        "grey": jpeg_bytes(photo[..., 0]),
        "cmyk": _cmyk(photo),
        "rgb-coded": jpeg_bytes(photo, keep_rgb=True),
        "arithmetic": _patched(blob, sof + 1, 0xC9),
        "lossless": _patched(blob, sof + 1, 0xC3),
        "12-bit": _patched(blob, sof + 4, 12),
        "no scan": blob[: jpeg.header(blob).sos] + b"\xff\xd9",
        "not a jpeg": b"\x89PNG\r\n\x1a\n" + blob[8:],
    }
    for name, bad in unsupported.items():
        assert jpeg_dc.decode(bad) is None, name


def _cmyk(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).convert("CMYK").save(buf, "JPEG")
    return buf.getvalue()


def test_restart_markers_out_of_sequence_are_left_to_libjpeg(photo):
    blob = jpeg_bytes(photo, quality=90, restart_marker_rows=1)
    at = blob.index(b"\xff\xd1", jpeg.header(blob).sos)
    assert jpeg_dc.decode(_patched(blob, at + 1, 0xD5)) is None


def mangled(blob: bytes, rng: np.random.Generator, count: int) -> list[bytes]:
    out = [blob[:cut] for cut in rng.integers(2, len(blob), count // 4)]
    for _ in range(count):
        m = bytearray(blob)
        for _ in range(int(rng.integers(1, 8))):
            k = int(rng.integers(0, len(m)))
            m[k] = (
                m[k] ^ (1 << int(rng.integers(0, 8)))
                if rng.random() < 0.5
                else int(rng.integers(0, 256))
            )
        out.append(bytes(m))
    return out


@pytest.mark.parametrize(
    "kw",
    [
        {"quality": 90},
        {"quality": 90, "subsampling": 0},
        {"quality": 80, "progressive": True},
        {"quality": 85, "restart_marker_rows": 1},
    ],
)
def test_truncated_and_bit_flipped_files_never_crash(photo, kw):
    """Run once by hand under -fsanitize=address,undefined (docs/io.md): no read out of bounds."""
    rng = np.random.default_rng(11)
    seed = jpeg_bytes(enlarged(photo, (1400, 1000)), **kw)
    for bad in mangled(seed, rng, 60):
        for threads in (1, 2, 3):
            decoded = jpeg_dc.decode(bad, threads)
            assert decoded is None or decoded.bgr.shape[2] == 3


def test_thumbnails_of_mangled_files_are_thumbnails_or_typed_errors(photo):
    rng = np.random.default_rng(5)
    seed = jpeg_bytes(enlarged(photo, (1400, 1000)), quality=90)
    for bad in mangled(seed, rng, 40):
        try:
            thumb = make_thumbnail(bad, 128)
        except ImageIOError:
            continue
        with Image.open(io.BytesIO(thumb)) as im:
            assert max(im.size) <= 128


@pytest.mark.parametrize("sampling", ["4:4:4", "4:2:0"])
def test_thumbnails_are_the_ones_libjpeg_gave(photo, monkeypatch, sampling):
    rgb = enlarged(photo, (4000, 3000))
    blob = jpeg_bytes(rgb, quality=92, subsampling=SAMPLING[sampling])
    ours_thumb = make_thumbnail(blob, 400)
    monkeypatch.setattr(jpeg_dc, "decode", lambda data, threads=None: None)
    assert make_thumbnail(blob, 400) == ours_thumb
