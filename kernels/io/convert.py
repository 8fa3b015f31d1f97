"""Fast, chunked conversions between stored pixels and the working space.

A 24 MP frame is 72 M samples; whole-image numpy expressions would stream ~300 MB per pass
through memory. Working on bands of rows keeps each band in cache and lets two threads run
(numpy releases the GIL inside its kernels).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache, lru_cache

import numpy as np
import numpy.typing as npt

from kernels.backends.base import U8Ends

from . import native
from .colour import Encoding

F32 = npt.NDArray[np.float32]
BAND_ROWS = 32
_THREADS = max(1, min(4, os.cpu_count() or 1))


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="kernels-io")


def _in_bands(height: int, work: Callable[[int, int], None], parallel: bool = True) -> None:
    bands = [(r, min(r + BAND_ROWS, height)) for r in range(0, height, BAND_ROWS)]
    if _THREADS == 1 or len(bands) < 4 or not parallel:
        for a, b in bands:
            work(a, b)
        return
    for fut in [_pool().submit(work, a, b) for a, b in bands]:
        fut.result()


@lru_cache(maxsize=32)
def linear_table(enc: Encoding, levels: int) -> F32:
    """The transfer curve at each of `levels` code values."""
    return enc.to_linear(np.arange(levels, dtype=np.float32) / np.float32(levels - 1))


@lru_cache(maxsize=32)
def tables(enc: Encoding, levels: int) -> F32:
    """3 x levels x 3: per input channel, the working-space contribution of each code value,
    so that out = T[0][r] + T[1][g] + T[2][b]."""
    lin = linear_table(enc, levels)
    m = enc.to_working.astype(np.float32)
    return np.stack([lin[:, None] * m[:, k][None, :] for k in range(3)])


def to_working(
    pixels: np.ndarray,
    enc: Encoding,
    *,
    swap_rb: bool = False,
    native_loops: bool = True,
    parallel: bool = True,
    out: F32 | None = None,
) -> F32:
    """HxWx3 uint8/uint16 (full range) or float32 (nominal 0..1) encoded RGB -> linear Rec.2020.
    swap_rb: integer pixels are BGR (OpenCV's order). native_loops=False forces the NumPy
    loops (the reference the compiled ones are tested against). parallel=False: on the calling
    thread only (a strip worker). out: where to write (HxWx3 float32, rows may be strided)."""
    h, w, _ = pixels.shape
    if pixels.dtype in (np.uint8, np.uint16):
        levels = 256 if pixels.dtype == np.uint8 else 65536
        if native_loops and native.available():
            m = enc.to_working.astype(np.float32)
            lin = linear_table(enc, levels)
            return native.to_working(pixels, lin, m, swap_rb=swap_rb, out=out, parallel=parallel)
        t = tables(enc, levels)
        if swap_rb:
            pixels = pixels[..., ::-1]
        t0, t1, t2 = t
    if out is None:
        out = np.empty((h, w, 3), dtype=np.float32)
    dest = out
    if pixels.dtype in (np.uint8, np.uint16):

        def work(a: int, b: int) -> None:
            band = pixels[a:b]
            dst = dest[a:b]
            np.take(t0, band[..., 0], axis=0, out=dst)
            dst += np.take(t1, band[..., 1], axis=0)
            dst += np.take(t2, band[..., 2], axis=0)

    else:
        mt = enc.to_working.T.astype(np.float32)

        def work(a: int, b: int) -> None:
            lin = enc.to_linear(pixels[a:b].astype(np.float32, copy=False))
            np.matmul(lin, mt, out=dest[a:b])

    _in_bands(h, work, parallel)
    return dest


@cache
def _encode_lut8(enc: Encoding) -> npt.NDArray[np.uint16]:
    """Linear 0..1 sampled at 65536 steps -> encoded value in 8.8 fixed point (max 255*256)."""
    lin = np.arange(65536, dtype=np.float32) / np.float32(65535)
    return np.round(enc.to_encoded(lin) * np.float32(255 * 256)).astype(np.uint16)


@cache
def _encode_lut8_i32(enc: Encoding) -> npt.NDArray[np.int32]:
    """The same table widened for the compiled loop's 32-bit gathers."""
    return _encode_lut8(enc).astype(np.int32)


@cache
def _dither(width: int) -> npt.NDArray[np.uint16]:
    """Fixed (so exports are reproducible) uniform noise in 1/256 LSB steps: rounding with it
    instead of to nearest turns banding in smooth 8-bit gradients into invisible grain."""
    rng = np.random.default_rng(0x0E11)
    return rng.integers(0, 256, size=(BAND_ROWS, width, 3), dtype=np.uint16)


@cache
def _no_dither(width: int) -> npt.NDArray[np.uint16]:
    return np.full((BAND_ROWS, width, 3), 128, np.uint16)  # half a step: round to nearest


def u8_ends(source: Encoding, target: Encoding, width: int, *, dither: bool = True) -> U8Ends:
    """to_working's 8-bit end from `source` and from_working's 8-bit end to `target` for an
    image `width` pixels wide, as one pass of the kernels applies them (render8)."""
    return U8Ends(
        lin=linear_table(source, 256),
        to_working=source.to_working.astype(np.float32),
        from_working=np.linalg.inv(target.to_working).astype(np.float32),
        lut=_encode_lut8_i32(target),
        noise=_dither(width) if dither else _no_dither(width),
    )


def from_working(
    rgb: F32,
    enc: Encoding,
    bit_depth: int,
    *,
    dither: bool = True,
    swap_rb: bool = False,
    y0: int = 0,
    native_loops: bool = True,
    parallel: bool = True,
) -> np.ndarray:
    """Linear Rec.2020 -> encoded RGB: uint8 (dithered), uint16, or float32 (unclipped).
    8-bit only: swap_rb writes BGR (OpenCV's order); y0 is the image row of rgb[0] when
    converting a band, so the dither pattern lines up with a whole-image conversion.
    native_loops=False forces the NumPy loops. parallel=False (8-bit): on the calling thread
    only, for a strip worker."""
    h, w, _ = rgb.shape
    mt = np.linalg.inv(enc.to_working).T.astype(np.float32)
    if bit_depth == 8:
        lut = _encode_lut8(enc)
        noise = _dither(w) if dither else _no_dither(w)
        if native_loops and native.available():
            lut32 = _encode_lut8_i32(enc)
            return native.from_working_u8(
                rgb, mt.T, lut32, noise, y0=y0, swap_rb=swap_rb, parallel=parallel
            )
        noise = np.roll(noise, -(y0 % BAND_ROWS), axis=0) if y0 % BAND_ROWS else noise
        out8 = np.empty((h, w, 3), dtype=np.uint8)

        def work8(a: int, b: int) -> None:
            lin = np.matmul(rgb[a:b], mt)
            np.clip(lin, 0.0, 1.0, out=lin)
            lin *= np.float32(65535)
            lin += np.float32(0.5)
            v = lut[lin.astype(np.uint16)]
            v += noise[: b - a]
            np.right_shift(v, 8, out=v)
            out8[a:b] = v

        _in_bands(h, work8, parallel)
        return out8[..., ::-1] if swap_rb else out8
    if bit_depth == 16:
        out16 = np.empty((h, w, 3), dtype=np.uint16)

        def work16(a: int, b: int) -> None:
            lin = np.clip(np.matmul(rgb[a:b], mt), 0.0, 1.0)
            out16[a:b] = np.round(enc.to_encoded(lin) * np.float32(65535))

        _in_bands(h, work16)
        return out16
    if bit_depth == 32:
        outf = np.empty((h, w, 3), dtype=np.float32)

        def workf(a: int, b: int) -> None:
            outf[a:b] = enc.to_encoded(np.matmul(rgb[a:b], mt))

        _in_bands(h, workf)
        return outf
    raise ValueError(f"bit depth must be 8, 16 or 32, not {bit_depth}")
