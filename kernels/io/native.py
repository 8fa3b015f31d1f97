"""The compiled conversion loops (convert_loops.cpp), built once per host by the kernels' cached
g++ build (kernels.backends.cpu_build) and called through ctypes, which releases the GIL.

`available()` is False without a compiler or when the build fails; kernels.io then uses its
NumPy loops, which compute the same values (see tests/kernels/io/test_native_conversions.py).
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("convert_loops.cpp")
_ptr, _long, _int = ctypes.c_void_p, ctypes.c_long, ctypes.c_int


def build(sources: Sequence[Path], name: str, fallback: str) -> ctypes.CDLL | None:
    """`sources` (C++ files of kernels/io, compiled as one in this order) built and loaded, or
    None without a compiler or when the build fails (logged, with what kernels.io does
    instead: `fallback`)."""
    try:
        from kernels.backends import cpu_build

        if cpu_build.compiler() is None:
            return None
        return cpu_build.load("\n".join(src.read_text() for src in sources), name)
    except (OSError, RuntimeError) as exc:  # BuildError is a RuntimeError
        log.warning("kernels.io %s unavailable, %s: %s", name, fallback, exc)
        return None


@cache
def _lib() -> ctypes.CDLL | None:
    lib = build([SOURCE], "io-convert", "using NumPy")
    if lib is None:
        return None
    for name in ("u8_to_working", "u16_to_working"):
        getattr(lib, name).argtypes = [
            _ptr,
            _long,
            _long,
            _long,
            _ptr,
            _ptr,
            _int,
            _ptr,
            _long,
            _int,
        ]
    lib.working_to_u8.argtypes = [
        *(_ptr, _long, _long, _long),
        *(_ptr, _ptr, _ptr, _long, _long, _int),
        *(_ptr, _long, _int),
    ]
    return lib


def available() -> bool:
    return _lib() is not None


def _rows(a: np.ndarray, dtype: type) -> np.ndarray:
    """`a` if its pixels are packed within each row (a band or a crop is fine), else a copy."""
    if a.dtype != dtype or a.strides[2] != a.itemsize or a.strides[1] != 3 * a.itemsize:
        a = np.ascontiguousarray(a, dtype=dtype)
    return a


def to_working(
    pixels: np.ndarray,
    lin: npt.NDArray[np.float32],
    matrix: np.ndarray,
    *,
    swap_rb: bool = False,
    out: npt.NDArray[np.float32] | None = None,
    parallel: bool = True,
) -> npt.NDArray[np.float32]:
    """HxWx3 uint8/uint16 -> float32: the transfer curve `lin` (one float per code value),
    then the 3x3 `matrix` (out_c = (lin[c0] m[c][0] + lin[c1] m[c][1]) + lin[c2] m[c][2], each
    product rounded on its own). swap_rb: the pixels are BGR. parallel=False: on the calling
    thread only (it is one of several already)."""
    lib = _lib()
    assert lib is not None, "check available() first"
    dtype = np.uint8 if pixels.dtype == np.uint8 else np.uint16
    src = _rows(pixels, dtype)
    h, w = src.shape[:2]
    if out is None:
        out = np.empty((h, w, 3), dtype=np.float32)
    t = np.ascontiguousarray(lin, dtype=np.float32)
    m = np.ascontiguousarray(matrix, dtype=np.float32)
    if t.shape != (256 if dtype == np.uint8 else 65536,) or m.shape != (3, 3):
        raise ValueError("one table entry per code value and a 3x3 matrix")
    fn = lib.u8_to_working if dtype == np.uint8 else lib.u16_to_working
    fn(
        src.ctypes.data,
        src.strides[0] // src.itemsize,
        h,
        w,
        t.ctypes.data,
        m.ctypes.data,
        int(swap_rb),
        out.ctypes.data,
        out.strides[0] // 4,
        int(parallel),
    )
    return out


def from_working_u8(
    rgb: np.ndarray,
    matrix: np.ndarray,
    lut: npt.NDArray[np.int32],
    noise: npt.NDArray[np.uint16],
    *,
    y0: int = 0,
    swap_rb: bool = False,
    out: npt.NDArray[np.uint8] | None = None,
    parallel: bool = True,
) -> npt.NDArray[np.uint8]:
    """HxWx3 float32 -> uint8: matrix, clip to [0, 1], 65536-entry 8.8 table (int32, for 32-bit gathers), + noise
    (rows x W x 3, 1/256 steps; image row y takes noise row (y0 + y) % rows), >> 8."""
    lib = _lib()
    assert lib is not None, "check available() first"
    src = _rows(rgb, np.float32)
    h, w = src.shape[:2]
    if out is None:
        out = np.empty((h, w, 3), dtype=np.uint8)
    m = np.ascontiguousarray(matrix, dtype=np.float32)
    table = np.ascontiguousarray(lut, dtype=np.int32)
    n = np.ascontiguousarray(noise, dtype=np.uint16)
    if m.shape != (3, 3) or table.shape != (65536,) or n.shape[1:] != (w, 3):
        raise ValueError("matrix 3x3, table 65536 entries, noise rows x width x 3")
    lib.working_to_u8(
        src.ctypes.data,
        src.strides[0] // 4,
        h,
        w,
        m.ctypes.data,
        table.ctypes.data,
        n.ctypes.data,
        n.shape[0],
        y0,
        int(swap_rb),
        out.ctypes.data,
        out.strides[0],
        int(parallel),
    )
    return out
