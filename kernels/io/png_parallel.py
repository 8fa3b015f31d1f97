"""8-bit PNG encode on every core, pigz-style: the image's rows in chunks of about 1 MB of
filtered data, each chunk converted, filtered (libpng's heuristic, png_filter.cpp) and
deflated on a worker, then the pieces concatenated into one zlib stream.

A deflate stream can be cut where the compressor flushes to a byte boundary (Z_SYNC_FLUSH: an
empty stored block, no final-block bit), and compression may continue in a new compressor
whose dictionary is the last 32 KiB of what came before: a decoder's window then holds exactly
those bytes. So chunk k is compressed by its own raw-deflate compressor primed with the tail of
chunk k - 1's filtered rows (which the worker filters again itself: a few rows) and ended with
a sync flush, the last one with Z_FINISH. The zlib header goes first, and the Adler-32 of the
whole, combined from the chunks' own, last. Chunk sizes depend on the width only, so the bytes
do not depend on the core count.

Slightly larger than one stream (each chunk's first 32 KiB matches only its dictionary, and a
few bytes per flush). Images under PARALLEL_MIN_PIXELS keep Pillow's encoder.
"""

from __future__ import annotations

import ctypes
import struct
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np

from . import native
from .png16 import _chunk, png_head
from .workers import map_strips

SOURCE = Path(__file__).with_name("png_filter.cpp")
PARALLEL_MIN_PIXELS = 1 << 20
CHUNK_BYTES = 1 << 20
WINDOW = 32768  # deflate's window: what a chunk's dictionary can hold
_ADLER_BASE = 65521

# produce(first_row, end_row, parallel) -> those rows as HxWxC uint8 (RGB or RGBA)
Producer = Callable[[int, int, bool], np.ndarray]


@cache
def _lib() -> ctypes.CDLL | None:
    lib = native.build([SOURCE], "io-png-filter", "8-bit PNG stays on Pillow's encoder")
    if lib is None:
        return None
    p, n, i = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
    lib.png_filter_rows.argtypes = [p, n, n, i, n, n, p, p]
    lib.png_filter_rows.restype = i
    return lib


def available() -> bool:
    return _lib() is not None


def _zlib_header(level: int) -> bytes:
    flevel = 0 if level <= 1 else 1 if level <= 5 else 2 if level == 6 else 3
    cmf, flg = 0x78, flevel << 6
    return bytes((cmf, flg + 31 - (cmf * 256 + flg) % 31))


def adler32_combine(first: int, second: int, second_len: int) -> int:
    """The Adler-32 of A + B from those of A and B (zlib's adler32_combine)."""
    rem = second_len % _ADLER_BASE
    lo = first & 0xFFFF
    hi = (rem * lo) % _ADLER_BASE
    lo += (second & 0xFFFF) + _ADLER_BASE - 1
    hi += (first >> 16) + (second >> 16) + _ADLER_BASE - rem
    lo %= _ADLER_BASE
    hi %= _ADLER_BASE
    return lo | (hi << 16)


def filtered_rows(pixels: np.ndarray, first: int) -> bytes:
    """Rows first.. of `pixels` (its row 0 is their prior row when first > 0), filtered."""
    lib = _lib()
    assert lib is not None, "check available() first"
    h, w, channels = pixels.shape
    pixels = np.ascontiguousarray(pixels)
    row = w * channels
    out = np.empty((h - first) * (row + 1), np.uint8)
    scratch = np.empty(6 * row, np.uint8)
    status = lib.png_filter_rows(
        pixels.ctypes.data, row, row, channels, first, h, out.ctypes.data, scratch.ctypes.data
    )
    if status != 0:
        raise ValueError("PNG filter: bad arguments")
    return out.tobytes()


def encode(
    produce: Producer,
    height: int,
    width: int,
    channels: int,
    *,
    level: int,
    icc_profile: bytes | None,
    exif: bytes | None,
) -> bytes:
    """The PNG of the height x width image (channels 3 or 4) that `produce` hands out."""
    row = width * channels + 1
    rows = max(1, CHUNK_BYTES // row)
    history = -(-WINDOW // row)  # rows of the previous chunk its dictionary needs
    tops = list(range(0, height, rows))

    def work(top: int) -> tuple[bytes, int, int]:
        end = min(top + rows, height)
        first = max(0, top - history)
        source = max(0, first - 1)  # and the row before, unfiltered, to filter against
        pixels = produce(source, end, False)
        data = filtered_rows(pixels, first - source)
        cut = (top - first) * row
        window, mine = data[max(0, cut - WINDOW) : cut], data[cut:]
        squeeze = zlib.compressobj(level, zlib.DEFLATED, -15, zdict=window) if window else None
        squeeze = squeeze or zlib.compressobj(level, zlib.DEFLATED, -15)
        last = end == height
        body = squeeze.compress(mine) + squeeze.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
        return _chunk(b"IDAT", body), zlib.adler32(mine), len(mine)

    pieces = map_strips(work, tops)
    adler = 1
    for _, piece_adler, length in pieces:
        adler = adler32_combine(adler, piece_adler, length)
    return b"".join(
        [
            png_head(width, height, 8, channels, icc_profile, exif),
            _chunk(b"IDAT", _zlib_header(level)),
            *(chunk for chunk, _, _ in pieces),
            _chunk(b"IDAT", struct.pack(">I", adler)),
            _chunk(b"IEND", b""),
        ]
    )
