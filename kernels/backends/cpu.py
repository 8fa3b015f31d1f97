"""The CPU backend: the CUDA sources compiled for the host (see cpu_build), called via ctypes.

Per-pixel chains get a generated fused kernel per distinct list of stages (cached on disk and in
memory); neighbourhood kernels live in one library built from cpu_loops.cpp."""

from __future__ import annotations

import ctypes
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kernels.backends import cpu_build
from kernels.backends.base import Backend, U8Ends, as_image
from kernels.backends.fused import U8Form, fused_source
from kernels.ops import denoise, mask_program, sampling
from kernels.ops.stage import PixelStage

if TYPE_CHECKING:
    from kernels.params import Mask

LOOPS_SOURCE = Path(__file__).with_name("cpu_loops.cpp")
MASK_SOURCE = Path(__file__).with_name("mask_loops.cpp")

_ptr = ctypes.c_void_p
_long = ctypes.c_long
_int = ctypes.c_int


# Fused passes writing at least this much use non-temporal stores (fused.py: k_stream_out):
# larger than the last-level cache, the output would be evicted before anything reads it, and
# plain stores first read every destination line. Smaller outputs (the streamed 8-bit job's
# 64-row bands) stay in cache for the next step.
STREAM_MIN_BYTES = 32 << 20


def _p(a: np.ndarray) -> int:
    return a.ctypes.data


def _rows_view(rgb: np.ndarray) -> tuple[np.ndarray, int]:
    """A float32 HxWx3 array whose pixels are contiguous within a row (views of tiles are
    fine), and its row stride in floats."""
    if rgb.dtype != np.float32 or rgb.strides[2] != 4 or rgb.strides[1] != 12:
        rgb = np.ascontiguousarray(rgb, dtype=np.float32)
    return rgb, rgb.strides[0] // 4


# (src, out) dtypes of pixel_stages_u8: codes on one side at least.
_U8_SIDES = {
    (np.dtype(np.uint8), np.dtype(np.uint8)),
    (np.dtype(np.uint8), np.dtype(np.float32)),
    (np.dtype(np.float32), np.dtype(np.uint8)),
}


def _packed(stages: Sequence[PixelStage]) -> tuple[np.ndarray, np.ndarray]:
    """The stages' parameters as one float32 array and each stage's offset into it (the fused
    kernels' params and offsets)."""
    params = np.concatenate([np.zeros(0, np.float32), *(s.params for s in stages)])
    offsets = np.cumsum([0] + [len(s.params) for s in stages[:-1]]).astype(np.int64)
    return params.astype(np.float32), offsets


class CpuBackend(Backend):
    name = "cpu"
    has_u8_pass = True

    def __init__(self, chunks: bool = True) -> None:
        """chunks=False: fused passes run every stage as its per-pixel device function, the
        composition the CUDA kernel runs, instead of a stage's host chunk loops (fused.py)."""
        self._chunks = chunks
        self._fused: dict[tuple[str, ...], Any] = {}
        self._fused_u8: dict[tuple[tuple[str, ...], U8Form], Any] = {}
        self._loops = cpu_build.load(LOOPS_SOURCE.read_text(), "neighbourhood")
        self._loops.convolve_v.argtypes = [_ptr, _ptr, _long, _long, _ptr, _int]
        self._loops.convolve_h.argtypes = [_ptr, _ptr, _long, _long, _int, _ptr, _int]
        self._loops.min_filter.argtypes = [_ptr, _ptr, _ptr, _long, _long, _int]
        self._loops.bilateral.argtypes = [_ptr, _ptr, _long, _long, _ptr, _ptr]
        self._loops.warp.argtypes = [_ptr, _ptr, _long, _long, _int, _long, _long, _long, _ptr]
        self._loops.resize_v.argtypes = [_ptr, _ptr, _long, _long, _long, _ptr, _ptr, _int]
        self._loops.resize_h.argtypes = [_ptr, _ptr, _long, _long, _int, _long, _ptr, _ptr, _int]
        self._loops.local_contrast.argtypes = [_ptr, _long, _long, _long, _ptr, _ptr]
        self._loops.dehaze.argtypes = [_ptr, _long, _long, _long, _ptr, _ptr]
        self._loops.sharpen.argtypes = [_ptr, _ptr, _long, _long, _long, _long, _ptr]
        self._loops.luma_plane.argtypes = [_ptr, _ptr, _long]
        self._loops.decode_u8.argtypes = [_ptr, _ptr, _long, _ptr, _int]
        self._loops.encode_u8.argtypes = [_ptr, _ptr, _long, _ptr, _int, _int]
        self._masks = cpu_build.load(MASK_SOURCE.read_text(), "masks")
        self._masks.mask_rasterise.argtypes = [_ptr, _ptr, _long, _long, _long, _ptr, _ptr]
        self._masks.mask_chunk_width.restype = _long
        self._mask_tile_w = int(self._masks.mask_chunk_width())

    def fused_kernel(self, kernels: Sequence[str]) -> Any:
        # Memoised per stage list: hashing the sources costs ~1 ms, a band pass far less.
        key = tuple(kernels)
        fn = self._fused.get(key)
        if fn is None:
            fn = cpu_build.load(fused_source(kernels, "cpu", self._chunks), "fused").fused
            fn.argtypes = [
                _ptr, _ptr, _long, _long, _long, _long, _long, _long, _ptr, _ptr, _long, _ptr,
                _long,
            ]  # fmt: skip
            self._fused[key] = fn
        return fn

    def fused_kernel_u8(self, kernels: Sequence[str], form: U8Form) -> Any:
        key = (tuple(kernels), form)
        fn = self._fused_u8.get(key)
        if fn is None:
            source = fused_source(kernels, "cpu", self._chunks, u8=form)
            fn = cpu_build.load(source, "fused-u8").fused_u8
            fn.argtypes = [
                _ptr, _ptr, _long, _long, _long, _long, _long, _long, _ptr, _ptr,
                _ptr, _ptr, _ptr, _ptr, _long, _ptr, _long,
            ]  # fmt: skip
            self._fused_u8[key] = fn
        return fn

    def pixel_stages_u8(
        self,
        src: np.ndarray,
        out: np.ndarray,
        stages: Sequence[PixelStage],
        ends: U8Ends,
        swap_rb: bool = False,
        y0: int = 0,
    ) -> None:
        h, w = src.shape[:2]
        sides = (src.dtype, out.dtype)
        if sides not in _U8_SIDES or src.shape != out.shape or src.shape[2:] != (3,):
            raise ValueError("pixel_stages_u8 takes HxWx3 uint8 and uint8 or float32 images")
        if any(a.strides[1:] != (3 * a.itemsize, a.itemsize) for a in (src, out)):
            raise ValueError("pixel_stages_u8 takes images packed within each row")
        lin = np.ascontiguousarray(ends.lin, dtype=np.float32)
        m_in = np.ascontiguousarray(ends.to_working, dtype=np.float32)
        m_out = np.ascontiguousarray(ends.from_working, dtype=np.float32)
        lut = np.ascontiguousarray(ends.lut, dtype=np.int32)
        noise = np.ascontiguousarray(ends.noise, dtype=np.uint16)
        if lin.shape != (256,) or m_in.shape != (3, 3) or m_out.shape != (3, 3):
            raise ValueError("256 decode entries and two 3x3 matrices")
        if lut.ndim != 1 or len(lut) < 2 or noise.ndim != 3 or noise.shape[1:] != (w, 3):
            raise ValueError("an encode table of 2 or more entries, noise rows x width x 3")
        params, offsets = _packed(stages)
        form = U8Form(src.dtype == np.uint8, out.dtype == np.uint8, swap_rb)
        self.fused_kernel_u8([s.kernel for s in stages], form)(
            _p(src),
            _p(out),
            h,
            w,
            src.strides[0] // src.itemsize,
            out.strides[0] // out.itemsize,
            0,
            y0,
            _p(params),
            _p(offsets),
            _p(lin),
            _p(m_in),
            _p(m_out),
            _p(lut),
            len(lut),
            _p(noise),
            noise.shape[0],
        )

    def pixel_stages(
        self, rgb: np.ndarray, stages: Sequence[PixelStage], x0: int = 0, y0: int = 0
    ) -> np.ndarray:
        src, stride = _rows_view(rgb)
        h, w = src.shape[:2]
        out = np.empty((h, w, 3), dtype=np.float32)
        if not stages:
            np.copyto(out, src)
            return out
        self.run_fused(src, stride, out, stages, x0, y0)
        return out

    def pixel_stages_into(
        self, src: np.ndarray, out: np.ndarray, stages: Sequence[PixelStage], x0: int, y0: int
    ) -> None:
        self._into(src, out, stages, x0, y0, None)

    def masked_pixel_stages_into(
        self,
        src: np.ndarray,
        out: np.ndarray,
        stages: Sequence[PixelStage],
        x0: int,
        y0: int,
        weight: np.ndarray,
    ) -> None:
        self._into(src, out, stages, x0, y0, weight)

    def _into(
        self,
        src: np.ndarray,
        out: np.ndarray,
        stages: Sequence[PixelStage],
        x0: int,
        y0: int,
        weight: np.ndarray | None,
    ) -> None:
        if out.strides[1:] != (12, 4) or out.dtype != np.float32:
            if weight is None:
                super().pixel_stages_into(src, out, stages, x0, y0)
            else:
                super().masked_pixel_stages_into(src, out, stages, x0, y0, weight)
            return
        if not stages:  # a recipe may leave a whole stage group empty: identity
            if out is not src:
                np.copyto(out, src)
            return
        source, stride = _rows_view(src)
        self.run_fused(source, stride, out, stages, x0, y0, weight)

    def run_fused(
        self,
        src: np.ndarray,
        src_stride: int,
        out: np.ndarray,
        stages: Sequence[PixelStage],
        x0: int,
        y0: int,
        weight: np.ndarray | None = None,
    ) -> None:
        """Fused pass writing into `out` (may be a row-contiguous view, or `src` itself);
        weight: HxW blend weights of the stages' result over src (a mask's)."""
        fn = self.fused_kernel([s.kernel for s in stages])
        params, offsets = _packed(stages)
        h, w = src.shape[:2]
        stream = h * w * 12 >= STREAM_MIN_BYTES
        wt = None
        if weight is not None:
            wt = weight if weight.dtype == np.float32 and weight.strides[1] == 4 else None
            wt = np.ascontiguousarray(weight, dtype=np.float32) if wt is None else wt
        fn(
            _p(src),
            _p(out),
            h,
            w,
            src_stride,
            out.strides[0] // 4,
            x0,
            y0,
            _p(params),
            _p(offsets),
            stream,
            None if wt is None else _p(wt),
            0 if wt is None else wt.strides[0] // 4,
        )

    def convolve(self, img: np.ndarray, kx: np.ndarray, ky: np.ndarray) -> np.ndarray:
        img = as_image(img)
        h, w, c = img.shape
        kx = np.ascontiguousarray(kx, dtype=np.float32)
        ky = np.ascontiguousarray(ky, dtype=np.float32)
        tmp = np.empty_like(img)
        out = np.empty_like(img)
        self._loops.convolve_h(_p(img), _p(tmp), h, w, c, _p(kx), len(kx) // 2)
        self._loops.convolve_v(_p(tmp), _p(out), h, w * c, _p(ky), len(ky) // 2)
        return out

    def min_filter(self, img: np.ndarray, radius: int) -> np.ndarray:
        img = np.ascontiguousarray(img, dtype=np.float32)
        tmp, out = np.empty_like(img), np.empty_like(img)
        self._loops.min_filter(_p(img), _p(tmp), _p(out), img.shape[0], img.shape[1], radius)
        return out

    def bilateral(
        self, img: np.ndarray, radius: int, sigma_s: float, sigma_luma: float, sigma_chroma: float
    ) -> np.ndarray:
        img = as_image(img)
        out = np.empty_like(img)
        p = denoise.kernel_params(radius, sigma_s, sigma_luma, sigma_chroma)
        scratch = np.empty(img.shape[:2], dtype=np.float32)  # the luminance plane
        self._loops.bilateral(_p(img), _p(out), img.shape[0], img.shape[1], _p(p), _p(scratch))
        return out

    def warp(
        self, img: np.ndarray, params: np.ndarray, out_h: int, out_w: int, y0: int = 0
    ) -> np.ndarray:
        img = as_image(img)
        h, w, c = img.shape
        out = np.empty((out_h, out_w, c), dtype=np.float32)
        p = np.ascontiguousarray(params, dtype=np.float32)
        self._loops.warp(_p(img), _p(out), h, w, c, out_h, out_w, y0, _p(p))
        return out

    def resize_axis(self, img: np.ndarray, size: int, axis: int) -> np.ndarray:
        img = as_image(img)
        h, w, c = img.shape
        starts, weights = sampling.lanczos_weights(img.shape[axis], size)
        taps = weights.shape[1]
        if axis == 0:
            out = np.empty((size, w, c), dtype=np.float32)
            self._loops.resize_v(_p(img), _p(out), h, w * c, size, _p(starts), _p(weights), taps)
        else:
            out = np.empty((h, size, c), dtype=np.float32)
            self._loops.resize_h(_p(img), _p(out), h, w, c, size, _p(starts), _p(weights), taps)
        return out

    def luma(self, rgb: np.ndarray) -> np.ndarray:
        rgb = as_image(rgb)
        out = np.empty(rgb.shape[:2], dtype=np.float32)
        self._loops.luma_plane(_p(rgb), _p(out), out.size)
        return out

    def _target(self, rgb: np.ndarray, inplace: bool) -> np.ndarray:
        if inplace:
            if not (rgb.flags.c_contiguous and rgb.dtype == np.float32):
                raise ValueError("in-place apply needs a C-contiguous float32 band")
            return rgb
        return np.array(rgb, dtype=np.float32, order="C", copy=True)

    def local_contrast(
        self,
        rgb: np.ndarray,
        y0: int,
        coefficients: np.ndarray,
        params: np.ndarray,
        inplace: bool = False,
    ) -> np.ndarray:
        out = self._target(rgb, inplace)
        g = np.ascontiguousarray(coefficients, dtype=np.float32)
        p = np.ascontiguousarray(params, dtype=np.float32)
        self._loops.local_contrast(_p(out), out.shape[0], out.shape[1], y0, _p(g), _p(p))
        return out

    def dehaze(
        self,
        rgb: np.ndarray,
        y0: int,
        transmission: np.ndarray,
        params: np.ndarray,
        inplace: bool = False,
    ) -> np.ndarray:
        out = self._target(rgb, inplace)
        g = np.ascontiguousarray(transmission, dtype=np.float32)
        p = np.ascontiguousarray(params, dtype=np.float32)
        self._loops.dehaze(_p(out), out.shape[0], out.shape[1], y0, _p(g), _p(p))
        return out

    def sharpen(
        self,
        rgb: np.ndarray,
        blurred_luma: np.ndarray,
        params: np.ndarray,
        row_offset: int = 0,
        inplace: bool = False,
    ) -> np.ndarray:
        out = self._target(rgb, inplace)
        yb = np.ascontiguousarray(blurred_luma, dtype=np.float32)
        p = np.ascontiguousarray(params, dtype=np.float32)
        h, w = out.shape[:2]
        self._loops.sharpen(_p(out), _p(yb), h, w, row_offset, yb.shape[0], _p(p))
        return out

    def mask_coverage(
        self,
        mask: Mask,
        rgb: np.ndarray,
        y0: int,
        full_w: int,
        full_h: int,
        bitmaps: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        band = as_image(rgb)
        h, w = band.shape[:2]
        program, planes = mask_program.pack(
            mask, full_w, full_h, y0, h, bitmaps, tile_w=self._mask_tile_w
        )
        out = np.empty((h, w), dtype=np.float32)
        pointers = (ctypes.c_void_p * max(1, len(planes)))(*(_p(b) for b in planes))
        self._masks.mask_rasterise(_p(band), _p(out), h, w, y0, _p(program), pointers)
        return out

    def decode_u8(self, img8: np.ndarray, table: np.ndarray, swap_rb: bool = False) -> np.ndarray:
        src = np.ascontiguousarray(img8, dtype=np.uint8)
        out = np.empty(src.shape, dtype=np.float32)
        t = np.ascontiguousarray(table, dtype=np.float32)
        self._loops.decode_u8(_p(src), _p(out), src.shape[0] * src.shape[1], _p(t), int(swap_rb))
        return out

    def encode_u8(self, img: np.ndarray, table: np.ndarray, swap_rb: bool = False) -> np.ndarray:
        src = as_image(img)
        out = np.empty(src.shape, dtype=np.uint8)
        t = np.ascontiguousarray(table, dtype=np.uint8)
        n = src.shape[0] * src.shape[1]
        self._loops.encode_u8(_p(src), _p(out), n, _p(t), len(t), int(swap_rb))
        return out
