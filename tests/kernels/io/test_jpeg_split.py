"""The strip-parallel full decode gives exactly the pixels of a whole-image libjpeg decode,
with and without restart markers, and kernels.io.decode gives what it gave before."""

from __future__ import annotations

import io
import itertools

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from kernels.io import CorruptImage, build_profile, decode, encode_8bit, jpeg_split

from .conftest import jpeg_bytes

SAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}


@pytest.fixture(scope="module", params=["astronaut", "coffee", "hubble_deep_field"])
def large(request) -> np.ndarray:
    """A real photograph enlarged past the parallel threshold, edges no multiple of an MCU."""
    rgb = getattr(data, request.param)()
    return np.asarray(Image.fromarray(rgb).resize((2001, 1337), Image.Resampling.BICUBIC))


def whole(blob: bytes) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_COLOR)
    assert bgr is not None
    return bgr


def split(blob: bytes, threads: int) -> tuple[np.ndarray, jpeg_split.Split]:
    out = np.zeros_like(whole(blob))
    seen: list[tuple[int, int]] = []

    def sink(top: int, bgr: np.ndarray) -> None:
        out[top : top + len(bgr)] = bgr
        seen.append((top, len(bgr)))

    got = jpeg_split.decode_bands(blob, sink, threads)
    assert got is not None
    covered = sorted(seen)  # every row, once
    assert covered[0][0] == 0
    assert sum(n for _, n in covered) == len(out)
    assert all(a + n == b for (a, n), (b, _) in itertools.pairwise(covered))
    return out, got


@pytest.mark.parametrize("sampling", ["4:4:4", "4:2:2", "4:2:0"])
@pytest.mark.parametrize("quality", [75, 95])
def test_strips_found_by_decoding_give_the_whole_image_pixels(large, sampling, quality):
    blob = jpeg_bytes(large, quality=quality, subsampling=SAMPLING[sampling])
    for threads in (2, 3, 5):
        pixels, got = split(blob, threads)
        assert got.strips == threads  # 8 MB of pixels: the threads decide
        assert got.intervals == 0
        assert got.syncs >= 1  # the row search itself ran on several threads
        assert np.array_equal(pixels, whole(blob))


@pytest.mark.parametrize(
    "restart",
    [{"restart_marker_rows": 1}, {"restart_marker_blocks": 7}, {"restart_marker_rows": 5}],
)
@pytest.mark.parametrize("sampling", ["4:4:4", "4:2:0"])
def test_strips_cut_at_restart_markers_give_the_whole_image_pixels(large, restart, sampling):
    blob = jpeg_bytes(large, quality=90, subsampling=SAMPLING[sampling], **restart)
    pixels, got = split(blob, 3)
    assert got.intervals > 1
    assert got.strips >= 2
    assert np.array_equal(pixels, whole(blob))


def test_our_own_strip_encoded_exports_split_at_their_restart_markers(large):
    blob = encode_8bit(large, bgr=False, quality=90)
    pixels, got = split(blob, 2)
    assert got.intervals > 1
    assert np.array_equal(pixels, whole(blob))


def test_decode_gives_the_working_image_it_gave_before(large, monkeypatch):
    """Each strip converted to linear Rec.2020 on its own thread: the same floats as the whole
    image decoded by libjpeg and converted at once; so for a tagged file and a rotated one."""
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise
    files = [
        jpeg_bytes(large, quality=92),
        jpeg_bytes(large, quality=92, icc_profile=build_profile("display-p3")),
        jpeg_bytes(large, quality=92, exif=exif.tobytes()),
    ]
    ours = [decode(blob).rgb for blob in files]
    monkeypatch.setattr(jpeg_split, "decode_bands", lambda data, sink, threads=None: None)
    for blob, got in zip(files, ours, strict=True):
        assert np.array_equal(got, decode(blob).rgb)
    assert ours[2].shape == (2001, 1337, 3)


def test_what_cannot_be_split_is_left_to_the_whole_image_decode(large, photo):
    def never(top: int, bgr: np.ndarray) -> None:
        raise AssertionError("no strip should be decoded")

    assert jpeg_split.decode_bands(jpeg_bytes(large, progressive=True), never, 2) is None
    assert jpeg_split.decode_bands(jpeg_bytes(photo), never, 2) is None  # small
    assert jpeg_split.decode_bands(jpeg_bytes(large), never, 1) is None  # one core
    truncated = jpeg_bytes(large)[:-300]
    assert jpeg_split.decode_bands(truncated, never, 2) is None
    with pytest.raises(CorruptImage, match="truncated"):
        decode(truncated)


def test_optimised_huffman_tables_decode_exactly(large):
    buf = io.BytesIO()
    Image.fromarray(large).save(buf, "JPEG", quality=90, optimize=True)
    blob = buf.getvalue()
    got = jpeg_split.decode_bgr(blob, 3)
    assert got is not None
    assert np.array_equal(got, whole(blob))


def test_a_strip_whose_first_dc_has_no_code_is_not_rebuilt(large):
    """An optimised DC table has codes only for the categories the file used: a strip's
    re-based first DC may need one it lacks. Then there is no strip (the file is decoded
    whole): here forced with a predictor far out of any 8-bit image's range."""
    from kernels.io import jpeg_scan

    blob = jpeg_bytes(large, quality=90)
    plan = jpeg_scan.plan(blob)
    assert plan is not None
    with jpeg_scan.opened(blob, plan) as scan:
        assert scan is not None
        found = scan.rows(2)
        assert found is not None
        pos, pred, _ = found
        assert scan.rebuild(int(pos[10]), int(pos[20]), pred[10]) is not None
        assert scan.rebuild(int(pos[10]), int(pos[20]), pred[10] + 30000) is None
