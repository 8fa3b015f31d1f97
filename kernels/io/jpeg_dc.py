"""The 1/8-scale JPEG decoder for thumbnails (jpeg_dc.cpp over jpeg_entropy.cpp): entropy
decoding on every core, the AC codes skipped, for the files jpeg_scan takes; None for the
rest, which the caller decodes with libjpeg.

Baseline files give libjpeg's own 1/8-scale pixels (OpenCV's IMREAD_REDUCED_COLOR_8, Pillow's
draft): each block's DC x quantiser / 8 + 128, the same fixed-point YCbCr tables, chroma
replicated, except 4:2:0 chroma, which libjpeg reads with a 2x2 IDCT (and so do we, from the
chroma blocks' AC coefficients in a second pass). Progressive files: only the DC first scan
is read, so the successive-approximation low bits are missing (at most (2^Al - 1) x quantiser
/ 8 per block) and 4:2:0 chroma is its DC (tests/kernels/io/test_jpeg_dc.py states the
tolerances).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import jpeg_scan, workers


@dataclass(frozen=True)
class Decoded:
    bgr: np.ndarray  # ceil(height / 8) x ceil(width / 8) x 3 uint8
    threads: int  # how many decoded it
    syncs: int  # speculative starts that were used (threads - 1 when every one synced)
    intervals: int  # restart intervals (0: none)
    overlap_bits: int  # decoded twice: from each speculative start to its sync point


def available() -> bool:
    return jpeg_scan.available()


def decode(data: bytes, threads: int | None = None) -> Decoded | None:
    """The 1/8-scale BGR image of a JPEG as libjpeg scales it (see the module note for how
    close), decoded on `threads` (default: every core); None when the file is not one this
    decoder takes or its data does not decode cleanly (libjpeg then decides what it is)."""
    plan = jpeg_scan.plan(data)
    if plan is None:
        return None
    with jpeg_scan.opened(data, plan) as scan:
        got = scan.eighth(threads or workers.thread_count()) if scan else None
    if got is None:
        return None
    bgr, stats = got
    return Decoded(bgr, stats.threads, stats.syncs, stats.intervals, stats.overlap_bits)
