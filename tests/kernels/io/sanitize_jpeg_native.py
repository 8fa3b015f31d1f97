"""By hand, not a test: the mangled-file corpus of test_jpeg_dc.py (more of it) through a
sanitizer build of jpeg_entropy.cpp + jpeg_dc.cpp: thumbnails, row scans, rebuilt strips and
restart-interval strips. No report from the sanitizers means none found (docs/io.md).

    cat kernels/io/jpeg_entropy.cpp kernels/io/jpeg_dc.cpp > /tmp/jpeg_native.cpp
    g++ -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -shared -fPIC -std=c++17 \
        /tmp/jpeg_native.cpp -o /tmp/jpeg_asan.so
    LD_PRELOAD=$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so) \
        ASAN_OPTIONS=detect_leaks=0 .venv/bin/python -m tests.kernels.io.sanitize_jpeg_native \
        /tmp/jpeg_asan.so
"""

from __future__ import annotations

import ctypes
import sys

import numpy as np
from PIL import Image
from skimage import data

from kernels.io import jpeg_dc, jpeg_scan, jpeg_split

from .conftest import jpeg_bytes
from .test_jpeg_dc import mangled

SEEDS = [
    {"quality": 90},
    {"quality": 90, "subsampling": 0},
    {"quality": 80, "progressive": True},
    {"quality": 85, "restart_marker_rows": 1},
    {"quality": 85, "restart_marker_blocks": 7},
]


def main(library: str) -> None:
    lib = jpeg_scan.bind(ctypes.CDLL(library))
    jpeg_scan._lib = lambda: lib  # type: ignore[assignment]  # the sanitizer build
    rng = np.random.default_rng(7)
    photo = data.astronaut()
    big = np.asarray(Image.fromarray(photo).resize((1800, 1300)))
    calls = decoded = 0
    for rgb in (photo, big):
        for kw in SEEDS:
            for bad in mangled(jpeg_bytes(rgb, **kw), rng, 120):
                for threads in (1, 2, 3):
                    calls += 1
                    decoded += jpeg_dc.decode(bad, threads) is not None
                calls += 1
                decoded += jpeg_split.decode_bgr(bad, 2) is not None
    print(f"{decoded} of {calls} calls on mangled files decoded; the rest were refused")


if __name__ == "__main__":
    main(sys.argv[1])
