"""Multithreaded baseline JPEG encode: horizontal strips encoded concurrently, stitched into one
standard file with restart markers between them.

libjpeg-turbo encodes on one thread and nothing beats its SIMD per core, so the only way past
it is more cores. A JPEG's entropy-coded data can be cut at restart markers (the DC predictors
start again at zero after each one, and the bits before one are padded to a byte), so a strip
encoded on its own is exactly one restart interval of the whole image when:

- its height is a multiple of the MCU height (16 rows, the tallest MCU we write): libjpeg pads
  the bottom of an image to whole MCUs by repeating its last row, which must only happen at the
  image's real bottom; and 4:2:0 averages rows in pairs within an MCU row, which then never
  straddle two strips (libjpeg-turbo's smoothing filter, which would look across rows, is off
  in OpenCV's encode);
- every strip has the same tables: baseline with the standard Huffman tables (OpenCV's default,
  as Pillow's); quality and sampling are the same for all.

Then the quantised coefficients are those of a whole-image encode, so every decoder gives the
pixels of the single-threaded file (tests/kernels/io/test_jpeg_strips.py checks Pillow, OpenCV
and pyvips). The stitched file is the first strip's headers with the full height in its SOF, a
DRI (restart interval: one strip's MCUs), the entropy segments of every strip in order with
RST0..RST7 between them, and one EOI.

Progressive files (and optimised Huffman tables, which progressive implies here) stay on one
thread: their tables are fitted to the whole image's statistics, and each of their scans runs
over the whole image, so strips encoded apart share neither.

The strip height depends only on the image's width, never on the core count: the same export
has the same bytes on every host. Images under PARALLEL_MIN_PIXELS are one plain encode: the
threads would save less than a millisecond, and small files stay byte-identical to Pillow's.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable

import numpy as np

from . import jpeg
from .workers import map_strips

log = logging.getLogger(__name__)

PARALLEL_MIN_PIXELS = 1 << 20
STRIP_BYTES = 1 << 20  # a strip's 8-bit pixels stay in one core's L2 between conversion and encode
MCU_ROWS = 16  # the tallest MCU of the samplings we write (4:2:0); 8-row MCUs divide it
MCU_SIZE = {"4:4:4": (8, 8), "4:2:2": (16, 8), "4:2:0": (16, 16)}
MAX_RESTART_INTERVAL = 65535  # DRI holds a 16-bit count of MCUs

# produce(first_row, end_row, parallel) -> those rows as HxWx3 uint8 BGR; parallel=False when
# it runs on a strip worker (one thread among several already).
Producer = Callable[[int, int, bool], np.ndarray]


def strip_rows(width: int, subsampling: str) -> int:
    """Rows per strip: about STRIP_BYTES of pixels, a multiple of 16, and no more MCUs than
    one restart interval can count."""
    mcu_w, mcu_h = MCU_SIZE[subsampling]
    mcus_per_row = -(-width // mcu_w)
    by_cache = max(1, STRIP_BYTES // (3 * width * MCU_ROWS)) * MCU_ROWS
    by_interval = MAX_RESTART_INTERVAL // mcus_per_row * mcu_h // MCU_ROWS * MCU_ROWS
    return max(MCU_ROWS, min(by_cache, by_interval))


def encode_bands(
    produce: Producer,
    height: int,
    width: int,
    *,
    quality: int,
    progressive: bool = False,
    subsampling: str = "4:2:0",
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
) -> bytes:
    """The JPEG of the height x width image that `produce` hands out in bands of rows, the
    profile and EXIF embedded as jpeg.encode_bgr embeds them. Large baseline images are
    encoded in strips on every core, each strip produced on the thread that encodes it."""
    rows = strip_rows(width, subsampling)
    if progressive or height * width < PARALLEL_MIN_PIXELS or height <= rows:
        bgr = produce(0, height, True)
        return jpeg.encode_bgr(
            bgr,
            quality=quality,
            progressive=progressive,
            subsampling=subsampling,
            icc_profile=icc_profile,
            exif=exif,
        )

    def strip(top: int) -> bytes:
        bgr = produce(top, min(top + rows, height), False)
        return jpeg.encode_plain(bgr, quality=quality, subsampling=subsampling)

    blobs = map_strips(strip, range(0, height, rows))
    mcu_w, mcu_h = MCU_SIZE[subsampling]
    interval = -(-width // mcu_w) * (rows // mcu_h)
    stitched = stitch(blobs, height, interval)
    if stitched is None:  # never seen: a libjpeg that wrote each strip's tables differently
        log.warning("JPEG strips did not share their headers; encoding on one thread")
        bgr = produce(0, height, True)
        stitched = jpeg.encode_plain(bgr, quality=quality, subsampling=subsampling)
    return jpeg.with_metadata(stitched, icc_profile, exif)


def _layout(blob: bytes) -> tuple[int, int, int] | None:
    """Offsets of the SOF marker, the SOS marker and the first entropy-coded byte of a
    strip OpenCV wrote, or None if it is not laid out so."""
    head = jpeg.header(blob)
    if head.sof < 0 or head.sos + 4 > len(blob) or blob[-2:] != b"\xff\xd9":
        return None
    (length,) = struct.unpack_from(">H", blob, head.sos + 2)
    return head.sof, head.sos, head.sos + 2 + length


def stitch(blobs: list[bytes], height: int, interval: int) -> bytes | None:
    """One baseline JPEG of `height` rows from strips that OpenCV encoded with the same
    settings, `interval` MCUs each (the last may have fewer); None if their headers differ
    in anything but the height."""
    first = _layout(blobs[0])
    if first is None or not 0 < interval <= MAX_RESTART_INTERVAL or not 0 < height <= 65535:
        return None
    sof, sos, start = first
    head0 = blobs[0]
    parts: list[bytes | memoryview] = [
        head0[: sof + 5],
        struct.pack(">H", height),
        head0[sof + 7 : sos],
        b"\xff\xdd" + struct.pack(">HH", 4, interval),  # DRI, before the scan as libjpeg puts it
        head0[sos:start],
    ]
    for i, blob in enumerate(blobs):
        if _layout(blob) != first:
            return None
        if blob[: sof + 5] != head0[: sof + 5] or blob[sof + 7 : start] != head0[sof + 7 : start]:
            return None
        if i:
            parts.append(bytes((0xFF, 0xD0 + (i - 1) % 8)))
        parts.append(memoryview(blob)[start:-2])
    parts.append(b"\xff\xd9")
    return b"".join(parts)
