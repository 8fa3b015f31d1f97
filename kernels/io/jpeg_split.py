"""Full-size JPEG decode on every core: libjpeg-turbo (through OpenCV) decodes horizontal
strips of whole MCU rows concurrently, each from a synthetic JPEG of its own, and each strip's
pixels go to the caller's `sink` on the thread that decoded them (the conversion to the working
space, while they are in cache).

A strip's JPEG is the file's headers (less its APPn/COM payloads) with the strip's height in
the SOF, the strip's entropy-coded data, and an EOI:

- with restart markers, strips start at restart intervals that begin an MCU row; their data is
  those intervals with the markers renumbered from RST0 (jpeg_entropy.cpp, `intervals`);
- without, the scan's entropy decode (jpeg_entropy.cpp, speculative on every core as for
  thumbnails) finds where each MCU row starts and each component's DC predictor there; a
  strip's data is its rows' bits shifted to a byte boundary, restuffed, with the first MCU's
  DC differences re-based to absolute values (`rebuild`), since a scan starts from zero.

Each strip is decoded one MCU row beyond its cut on each side (when chroma is subsampled
vertically) and that row dropped: libjpeg's fancy upsampling reads the chroma row above and
below, and so sees the neighbours a whole-image decode sees. The pixels are the whole-image
decode's (tests/kernels/io/test_jpeg_split.py). Progressive files, small images and anything
jpeg_scan does not take are decoded whole by the caller (None here).
"""

from __future__ import annotations

import itertools
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import cv2
import numpy as np

from . import jpeg, jpeg_scan, workers
from .workers import map_strips

log = logging.getLogger(__name__)

PARALLEL_MIN_PIXELS = 2 << 20  # below, one libjpeg call (the set-up would eat the gain)
# At most this many bytes of BGR per strip: OpenCV allocates each strip's pixels on the worker
# thread, and glibc serves a worker's allocations over 32 MB (its largest mmap threshold) with
# fresh pages every time, whose page faults doubled a strip's decode time on the 2-core host.
STRIP_BYTES = 16 << 20
_FLAGS = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
# Header segments a strip needs: tables, frame, restart interval, and the two that decide
# libjpeg's colour space (JFIF APP0, Adobe APP14). EXIF, ICC and comments are left out.
_KEPT = frozenset({0xC0, 0xC1, 0xC4, 0xDB, 0xDD, 0xE0, 0xEE})

# sink(first image row, BGR rows): called once per strip, on the thread that decoded it.
Sink = Callable[[int, np.ndarray], None]


@dataclass(frozen=True)
class Strip:
    cut: int  # first MCU row it delivers
    end: int  # MCU row after the last it delivers
    first: int  # first MCU row it decodes (cut, or one above for the upsampling's sake)
    last: int  # MCU row after the last it decodes


@dataclass(frozen=True)
class Split:
    strips: int
    intervals: int  # restart intervals in the file (0: none, the rows were found by decoding)
    syncs: int  # speculative starts of that decode which synced


def decode_bands(data: bytes, sink: Sink, threads: int | None = None) -> Split | None:
    """Decode `data` in strips on `threads` (default: every core), each strip's rows handed
    to `sink`. None when this path does not apply or a strip fails: the caller then decodes the
    file whole (some strips may have reached `sink` already, so it must overwrite them)."""
    threads = threads or workers.thread_count()
    plan = jpeg_scan.plan(data)
    if plan is None or plan.progressive or threads < 2:
        return None
    if plan.width * plan.height < PARALLEL_MIN_PIXELS or not jpeg.complete(data, plan.scan):
        return None
    mcu_h = 8 * max(v for _, v in plan.sampling)
    mcu_w = 8 * max(h for h, _ in plan.sampling)
    rows = -(-plan.height // mcu_h)
    halo = 1 if mcu_h > 8 else 0
    count = max(threads, -(-plan.width * plan.height * 3 // STRIP_BYTES))
    head, tail = _header(data, plan)
    with jpeg_scan.opened(data, plan) as scan:
        if scan is None:
            return None
        if plan.restart:
            per_row = -(-plan.width // mcu_w)
            made = _by_interval(scan, plan.restart, per_row, rows, count, halo, len(data))
            intervals, syncs = -(-rows * per_row // plan.restart), 0
        else:
            found = scan.rows(threads)
            if found is None:
                return None
            pos, pred, stats = found
            made = [
                (s, partial(scan.rebuild, int(pos[s.first]), int(pos[s.last]), pred[s.first]))
                for s in _strips(list(range(rows)), rows, count, halo)
            ]
            intervals, syncs = 0, stats.syncs

        def work(item: tuple[Strip, Callable[[], bytes | None]]) -> bool:
            strip, entropy = item
            coded = entropy()
            if coded is None:
                return False
            top, bottom = strip.first * mcu_h, min(plan.height, strip.last * mcu_h)
            blob = head + struct.pack(">H", bottom - top) + tail + coded + b"\xff\xd9"
            bgr = cv2.imdecode(np.frombuffer(blob, np.uint8), _FLAGS)
            if bgr is None or bgr.shape != (bottom - top, plan.width, 3):
                return False
            keep_top = strip.cut * mcu_h
            keep_bottom = min(plan.height, strip.end * mcu_h)
            sink(keep_top, bgr[keep_top - top : keep_bottom - top])
            return True

        if not all(map_strips(work, made)):
            log.warning("a JPEG strip did not decode; decoding the file whole")
            return None
    return Split(len(made), intervals, syncs)


def _header(data: bytes, plan: jpeg_scan.Plan) -> tuple[bytes, bytes]:
    """The strip header around the SOF's height field: (SOI + kept segments up to it, the
    rest of the kept segments + the SOS segment)."""
    parts = [b"\xff\xd8"]
    for marker, start, end in plan.segments:
        if marker in _KEPT:
            parts.append(data[start:end])
    sos = plan.segments[-1]
    kept = b"".join(parts)
    sof = next(start for marker, start, _ in plan.segments if marker in (0xC0, 0xC1))
    # the SOF's offset within `kept`: the kept segments before it, plus SOI
    before = 2 + sum(e - s for m, s, e in plan.segments if m in _KEPT and s < sof)
    return kept[: before + 5], kept[before + 7 :] + data[sos[1] : sos[2]]


def _strips(cuts: list[int], rows: int, count: int, halo: int) -> list[Strip]:
    """About `count` strips of equal height, cut at rows from `cuts` (the rows a strip may
    start at; row 0 among them); each decodes from the cut at or above its first row - halo
    to the cut at or below its end + halo."""
    bounds = sorted({min(cuts, key=lambda c: abs(c - k * rows / count)) for k in range(count)})
    bounds = [b for b in bounds if b < rows] + [rows]
    starts = [*cuts, rows]
    out = []
    for cut, end in itertools.pairwise(bounds):
        first = max((c for c in starts if c <= max(0, cut - halo)), default=0)
        last = min((c for c in starts if c >= min(rows, end + halo)), default=rows)
        out.append(Strip(cut, end, first, last))
    return out


def _by_interval(
    scan: jpeg_scan.Scan,
    restart: int,
    per_row: int,
    rows: int,
    count: int,
    halo: int,
    size: int,
) -> list[tuple[Strip, Callable[[], bytes | None]]]:
    """Strips cut where a restart interval starts an MCU row, their data those intervals."""
    intervals = -(-rows * per_row // restart)
    starts = {i * restart // per_row: i for i in range(intervals) if i * restart % per_row == 0}
    strips = _strips(sorted(starts), rows, count, halo)

    def interval_at(row: int) -> int:
        return intervals if row >= rows else starts[row]

    return [
        (s, partial(scan.intervals, interval_at(s.first), interval_at(s.last), size))
        for s in strips
    ]


def decode_bgr(data: bytes, threads: int | None = None) -> np.ndarray | None:
    """The whole HxWx3 BGR image (as stored: not rotated), decoded in strips; None when
    decode_bands does not apply."""
    head = jpeg.header(data)
    out = np.empty((head.height, head.width, 3), np.uint8)

    def sink(top: int, bgr: np.ndarray) -> None:
        out[top : top + len(bgr)] = bgr

    return out if decode_bands(data, sink, threads) else None
