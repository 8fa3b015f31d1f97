"""The strip-parallel JPEG encode writes one standard baseline file that every decoder reads
as exactly the pixels of a single-threaded encode of the same 8-bit image."""

from __future__ import annotations

import io
import os

import cv2
import numpy as np
import pytest
import pyvips
from PIL import Image

from kernels.io import build_profile, encode, encode_8bit, jpeg, jpeg_strips, workers
from kernels.io.colour import encoding
from kernels.io.convert import from_working, to_working


@pytest.fixture(scope="module")
def large(photo) -> np.ndarray:
    """A real photograph enlarged past the parallel threshold, with edges that are no multiple
    of any MCU: 1517 x 1003, RGB."""
    return np.asarray(Image.fromarray(photo).resize((1517, 1003), Image.Resampling.BICUBIC))


def pillow_pixels(blob: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(blob)) as im:
        return np.asarray(im.convert("RGB"))


def opencv_pixels(blob: bytes) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_COLOR)
    assert bgr is not None
    return bgr[..., ::-1]


def pyvips_pixels(blob: bytes) -> np.ndarray:
    return pyvips.Image.new_from_buffer(blob, "").numpy()


def restart_markers(blob: bytes) -> list[int]:
    """The RSTn numbers in the entropy-coded data, in order (stuffed FF 00 is not a marker)."""
    scan = blob[jpeg.header(blob).sos :]
    return [
        scan[i + 1] - 0xD0
        for i in range(len(scan) - 1)
        if scan[i] == 0xFF and 0xD0 <= scan[i + 1] <= 0xD7
    ]


def strips_of(rgb: np.ndarray, subsampling: str) -> int:
    return -(-rgb.shape[0] // jpeg_strips.strip_rows(rgb.shape[1], subsampling))


@pytest.mark.parametrize("subsampling", ["4:2:0", "4:2:2", "4:4:4"])
def test_every_decoder_reads_the_stitched_file_as_the_single_threaded_one(large, subsampling):
    single = jpeg.encode_plain(large[..., ::-1].copy(), quality=90, subsampling=subsampling)
    stitched = encode_8bit(
        large, bgr=False, quality=90, subsampling=subsampling, metadata_policy="strip_all"
    )
    assert restart_markers(stitched) == [i % 8 for i in range(strips_of(large, subsampling) - 1)]
    assert restart_markers(single) == []
    for read in (pillow_pixels, opencv_pixels, pyvips_pixels):
        assert np.array_equal(read(stitched), read(single)), read.__name__


def test_many_thin_strips_renumber_their_restart_markers_mod_8(large, monkeypatch):
    monkeypatch.setattr(jpeg_strips, "STRIP_BYTES", 1 << 16)  # 16-row strips: 63 of them
    stitched = encode_8bit(large, bgr=False, quality=85, metadata_policy="strip_all")
    single = jpeg.encode_plain(large[..., ::-1].copy(), quality=85)
    assert len(restart_markers(stitched)) == 62
    assert restart_markers(stitched) == [i % 8 for i in range(62)]
    for read in (pillow_pixels, opencv_pixels, pyvips_pixels):
        assert np.array_equal(read(stitched), read(single)), read.__name__


@pytest.mark.parametrize("size", [(1031, 1025), (2001, 529), (1100, 977)])
def test_odd_sizes_decode_exactly(photo, size):
    rgb = np.asarray(Image.fromarray(photo).resize(size, Image.Resampling.BICUBIC))
    stitched = encode_8bit(rgb, bgr=False, quality=92, metadata_policy="strip_all")
    assert restart_markers(stitched)
    single = jpeg.encode_plain(rgb[..., ::-1].copy(), quality=92)
    assert np.array_equal(opencv_pixels(stitched), opencv_pixels(single))
    assert np.array_equal(pillow_pixels(stitched), pillow_pixels(single))


def test_the_bytes_do_not_depend_on_the_number_of_cores(large):
    every = encode_8bit(large, bgr=False, quality=90)
    with workers.limited(1):
        assert encode_8bit(large, bgr=False, quality=90) == every


def test_the_float_encode_converts_each_strip_as_the_whole_image_would(large):
    """Each worker converts its own rows (dither aligned by row): the file is the one the
    8-bit writer makes of the whole image converted at once."""
    rgb = to_working(large, encoding("srgb"))
    whole = from_working(rgb, encoding("display-p3"), 8)
    expected = encode_8bit(
        whole, bgr=False, quality=88, profile="display-p3", metadata_policy="strip_all"
    )
    ours = encode(rgb, format="jpeg", quality=88, profile="display-p3", metadata_policy="strip_all")
    assert restart_markers(ours)
    assert ours == expected


def test_profile_and_exif_are_spliced_into_the_stitched_file(large):
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"
    blob = encode_8bit(
        large,
        bgr=False,
        profile="adobe-rgb",
        metadata_policy="keep_all",
        metadata_source=exif.tobytes(),
    )
    assert restart_markers(blob)
    with Image.open(io.BytesIO(blob)) as im:
        assert im.info["icc_profile"] == build_profile("adobe-rgb")
        assert im.getexif()[0x010F] == "Camera Maker"


def test_progressive_requests_are_one_plain_encode(large):
    """Progressive scans run over the whole image with Huffman tables fitted to it: strips
    encoded apart would share neither, so these stay on one thread."""
    bgr = np.ascontiguousarray(large[..., ::-1])
    blob = encode_8bit(large, bgr=False, quality=80, progressive=True, metadata_policy="strip_all")
    assert blob == jpeg.encode_bgr(
        bgr, quality=80, progressive=True, icc_profile=build_profile("srgb")
    )


def test_small_and_one_strip_images_are_one_plain_encode(cat, monkeypatch):
    """Under the threshold the file is the one Pillow would write; over it, an image no taller
    than one strip has nothing to split."""
    plain = jpeg.encode_bgr(cat[..., ::-1].copy(), quality=80, icc_profile=build_profile("srgb"))
    assert encode_8bit(cat, bgr=False, quality=80, metadata_policy="strip_all") == plain
    monkeypatch.setattr(jpeg_strips, "PARALLEL_MIN_PIXELS", 0)
    assert cat.shape[0] <= jpeg_strips.strip_rows(cat.shape[1], "4:2:0")
    assert encode_8bit(cat, bgr=False, quality=80, metadata_policy="strip_all") == plain
    taller = np.ascontiguousarray(np.tile(cat, (4, 1, 1)))  # 1200 rows: two strips
    assert restart_markers(encode_8bit(taller, bgr=False, metadata_policy="strip_all")) == [0]


@pytest.mark.parametrize("subsampling", ["4:2:0", "4:2:2", "4:4:4"])
@pytest.mark.parametrize("width", [1, 1517, 8191, 65535])
def test_a_strip_is_whole_mcus_and_one_restart_interval_can_count_it(width, subsampling):
    mcu_w, mcu_h = jpeg_strips.MCU_SIZE[subsampling]
    rows = jpeg_strips.strip_rows(width, subsampling)
    assert rows % 16 == 0
    assert -(-width // mcu_w) * (rows // mcu_h) <= jpeg_strips.MAX_RESTART_INTERVAL


def test_the_thread_count_follows_the_environment_within_bounds(monkeypatch):
    for setting, expected in (("1", 1), ("3", 3), ("500", workers.MAX_THREADS)):
        monkeypatch.setenv("ORLUME_IO_THREADS", setting)
        workers._cores.cache_clear()
        assert workers.thread_count() == expected
    for ignored in ("0", "-2", "many"):
        monkeypatch.setenv("ORLUME_IO_THREADS", ignored)
        workers._cores.cache_clear()
        assert workers.thread_count() == min(workers.MAX_THREADS, len(os.sched_getaffinity(0)))
    monkeypatch.delenv("ORLUME_IO_THREADS")
    workers._cores.cache_clear()
