"""The CUDA backend: the kernels/cuda sources compiled by PyCUDA (NVRTC-free, through nvcc) and
launched on the first GPU. Imported lazily: hosts without pycuda never load this module.

Compilation happens at first use per source (the worker's first render) and PyCUDA caches the
cubin on disk keyed by the source text; includes are expanded here first so the key covers every
file a kernel uses. Each primitive uploads its inputs and downloads its result: correct and
simple, but not yet a device-resident pipeline (see docs/kernels.md).

Not exercised on the development machine (no GPU there); backend selection is unit-tested.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from kernels.backends import cpu_build
from kernels.backends.base import Backend, as_image
from kernels.backends.fused import fused_source
from kernels.ops import denoise, mask_program, sampling
from kernels.ops.stage import PixelStage

if TYPE_CHECKING:
    from kernels.params import Mask

NEIGHBOURHOOD = [
    "convolve", "min_filter", "bilateral", "warp", "resize", "detail_apply", "transfer", "mask",
]  # fmt: skip
BLOCK = (32, 8, 1)
_INCLUDE = re.compile(r'^\s*#include\s+"([^"]+)"\s*$', re.MULTILINE)


def expand_includes(source: str, seen: set[str] | None = None) -> str:
    """Inline the quoted includes from kernels/cuda (each once, like #pragma once)."""
    seen = set() if seen is None else seen

    def inline(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in seen:
            return ""
        seen.add(name)
        return expand_includes((cpu_build.CUDA_DIR / name).read_text(), seen)

    # Once inlined, #pragma once would only draw "in main file" warnings.
    return _INCLUDE.sub(inline, source).replace("#pragma once", "")


def device_available() -> bool:
    import pycuda.driver as drv

    drv.init()
    return bool(drv.Device.count() > 0)


def _grid(nx: int, ny: int) -> tuple[int, int, int]:
    return ((nx + BLOCK[0] - 1) // BLOCK[0], (ny + BLOCK[1] - 1) // BLOCK[1], 1)


class CudaBackend(Backend):
    name = "cuda"

    def __init__(self) -> None:
        import pycuda.driver as drv

        drv.init()
        self._drv = drv
        self._context = drv.Device(0).retain_primary_context()
        self._context.push()
        includes = "\n".join(f'#include "{n}.cu"' for n in NEIGHBOURHOOD)
        self._mod = self._compile(includes)

    @staticmethod
    def _compile(source: str) -> Any:
        from pycuda.compiler import SourceModule

        cache_dir = cpu_build.cache_dir() / "cuda"
        cache_dir.mkdir(parents=True, exist_ok=True)
        return SourceModule(
            expand_includes(source), no_extern_c=True, cache_dir=str(cache_dir), options=["-O3"]
        )

    @cache  # noqa: B019 - one backend per process; modules live as long as it does
    def _fused(self, kernels: tuple[str, ...]) -> Any:
        return self._compile(fused_source(kernels, "cuda")).get_function("fused")

    # --- transfers --------------------------------------------------------------------------
    def _up(self, a: np.ndarray) -> Any:
        from pycuda import gpuarray

        return gpuarray.to_gpu(np.ascontiguousarray(a))

    def _empty(self, shape: tuple[int, ...], dtype: Any = np.float32) -> Any:
        from pycuda import gpuarray

        return gpuarray.empty(shape, dtype)

    # --- primitives -------------------------------------------------------------------------
    def pixel_stages(
        self, rgb: np.ndarray, stages: Sequence[PixelStage], x0: int = 0, y0: int = 0
    ) -> np.ndarray:
        return self._fused_pass(rgb, stages, x0, y0, None)

    def masked_pixel_stages_into(
        self,
        src: np.ndarray,
        out: np.ndarray,
        stages: Sequence[PixelStage],
        x0: int,
        y0: int,
        weight: np.ndarray,
    ) -> None:
        out[...] = self._fused_pass(src, stages, x0, y0, weight)

    def _fused_pass(
        self,
        rgb: np.ndarray,
        stages: Sequence[PixelStage],
        x0: int,
        y0: int,
        weight: np.ndarray | None,
    ) -> np.ndarray:
        src = self._up(np.asarray(rgb, dtype=np.float32))
        if not stages:
            return np.asarray(src.get())
        h, w = rgb.shape[:2]
        dst = self._empty((h, w, 3))
        params = self._up(np.concatenate([s.params for s in stages]).astype(np.float32))
        offsets = self._up(np.cumsum([0] + [len(s.params) for s in stages[:-1]]).astype(np.int64))
        wt = None if weight is None else self._up(np.asarray(weight, dtype=np.float32))
        fn = self._fused(tuple(s.kernel for s in stages))
        stride = np.int64(w * 3)
        fn(
            src,
            dst,
            np.int32(h),
            np.int32(w),
            stride,
            stride,
            np.int32(x0),
            np.int32(y0),
            params,
            offsets,
            np.intp(0) if wt is None else wt,
            np.int64(w),
            block=BLOCK,
            grid=_grid(w, h),
        )
        return np.asarray(dst.get())

    def convolve(self, img: np.ndarray, kx: np.ndarray, ky: np.ndarray) -> np.ndarray:
        img = as_image(img)
        h, w, c = img.shape
        fn = self._mod.get_function("convolve_kernel")
        a, b = self._up(img), self._empty(img.shape)
        for axis, k, src, dst in ((1, kx, a, b), (0, ky, b, a)):
            kk = self._up(np.asarray(k, dtype=np.float32))
            fn(
                src,
                dst,
                np.int32(h),
                np.int32(w),
                np.int32(c),
                np.int32(axis),
                kk,
                np.int32(len(k) // 2),
                block=BLOCK,
                grid=_grid(w * c, h),
            )
        return np.asarray(a.get())

    def min_filter(self, img: np.ndarray, radius: int) -> np.ndarray:
        img = np.ascontiguousarray(img, dtype=np.float32)
        h, w = img.shape
        fn = self._mod.get_function("min_filter_kernel")
        a, b = self._up(img), self._empty(img.shape)
        fn(
            a,
            b,
            np.int32(h),
            np.int32(w),
            np.int32(1),
            np.int32(radius),
            block=BLOCK,
            grid=_grid(w, h),
        )
        fn(
            b,
            a,
            np.int32(h),
            np.int32(w),
            np.int32(0),
            np.int32(radius),
            block=BLOCK,
            grid=_grid(w, h),
        )
        return np.asarray(a.get())

    def bilateral(
        self, img: np.ndarray, radius: int, sigma_s: float, sigma_luma: float, sigma_chroma: float
    ) -> np.ndarray:
        img = as_image(img)
        h, w, _ = img.shape
        p = denoise.kernel_params(radius, sigma_s, sigma_luma, sigma_chroma)
        src, dst = self._up(img), self._empty(img.shape)
        self._mod.get_function("bilateral_kernel")(
            src, dst, np.int32(h), np.int32(w), self._up(p), block=BLOCK, grid=_grid(w, h)
        )
        return np.asarray(dst.get())

    def warp(
        self, img: np.ndarray, params: np.ndarray, out_h: int, out_w: int, y0: int = 0
    ) -> np.ndarray:
        img = as_image(img)
        h, w, c = img.shape
        src, dst = self._up(img), self._empty((out_h, out_w, c))
        self._mod.get_function("warp_kernel")(
            src,
            dst,
            np.int32(h),
            np.int32(w),
            np.int32(c),
            np.int32(out_h),
            np.int32(out_w),
            np.int32(y0),
            self._up(np.asarray(params, dtype=np.float32)),
            block=BLOCK,
            grid=_grid(out_w, out_h),
        )
        return np.asarray(dst.get())

    def resize_axis(self, img: np.ndarray, size: int, axis: int) -> np.ndarray:
        img = as_image(img)
        h, w, c = img.shape
        starts, weights = sampling.lanczos_weights(img.shape[axis], size)
        shape = (size, w, c) if axis == 0 else (h, size, c)
        src, dst = self._up(img), self._empty(shape)
        self._mod.get_function("resize_kernel")(
            src,
            dst,
            np.int32(h),
            np.int32(w),
            np.int32(c),
            np.int32(axis),
            np.int32(size),
            self._up(starts),
            self._up(weights),
            np.int32(weights.shape[1]),
            block=BLOCK,
            grid=_grid(shape[1] * c, shape[0]),
        )
        return np.asarray(dst.get())

    def luma(self, rgb: np.ndarray) -> np.ndarray:
        rgb = as_image(rgb)
        n = rgb.shape[0] * rgb.shape[1]
        src, dst = self._up(rgb), self._empty(rgb.shape[:2])
        self._mod.get_function("luma_plane_kernel")(
            src, dst, np.int64(n), block=(256, 1, 1), grid=((n + 255) // 256, 1, 1)
        )
        return np.asarray(dst.get())

    def _apply(self, kernel: str, rgb: np.ndarray, inplace: bool, *args: Any) -> np.ndarray:
        img = self._up(np.asarray(rgb, dtype=np.float32))
        h, w = rgb.shape[:2]
        self._mod.get_function(kernel)(
            img, np.int32(h), np.int32(w), *args, block=BLOCK, grid=_grid(w, h)
        )
        out = np.asarray(img.get())
        if inplace:
            rgb[...] = out
            return rgb
        return out

    def local_contrast(
        self,
        rgb: np.ndarray,
        y0: int,
        coefficients: np.ndarray,
        params: np.ndarray,
        inplace: bool = False,
    ) -> np.ndarray:
        return self._apply(
            "local_contrast_kernel", rgb, inplace, np.int32(y0),
            self._up(coefficients.astype(np.float32)), self._up(params.astype(np.float32)),
        )  # fmt: skip

    def dehaze(
        self,
        rgb: np.ndarray,
        y0: int,
        transmission: np.ndarray,
        params: np.ndarray,
        inplace: bool = False,
    ) -> np.ndarray:
        return self._apply(
            "dehaze_kernel", rgb, inplace, np.int32(y0),
            self._up(transmission.astype(np.float32)), self._up(params.astype(np.float32)),
        )  # fmt: skip

    def sharpen(
        self,
        rgb: np.ndarray,
        blurred_luma: np.ndarray,
        params: np.ndarray,
        row_offset: int = 0,
        inplace: bool = False,
    ) -> np.ndarray:
        img = self._up(np.asarray(rgb, dtype=np.float32))
        h, w = rgb.shape[:2]
        self._mod.get_function("sharpen_kernel")(
            img, self._up(blurred_luma.astype(np.float32)), np.int32(h), np.int32(w),
            np.int32(row_offset), np.int32(blurred_luma.shape[0]),
            self._up(params.astype(np.float32)), block=BLOCK, grid=_grid(w, h),
        )  # fmt: skip
        out = np.asarray(img.get())
        if inplace:
            rgb[...] = out
            return rgb
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
        program, planes = mask_program.pack(mask, full_w, full_h, y0, h, bitmaps)
        on_device = [self._up(p) for p in planes]  # kept alive until the kernel has run
        pointers = np.array([int(p.gpudata) for p in on_device] or [0], dtype=np.uint64)
        out = self._empty((h, w))
        self._mod.get_function("mask_kernel")(
            self._up(band), out, np.int32(w), np.int32(h), np.int32(y0), self._up(program),
            self._up(pointers), block=BLOCK, grid=_grid(w, h),
        )  # fmt: skip
        return np.asarray(out.get())

    def decode_u8(self, img8: np.ndarray, table: np.ndarray, swap_rb: bool = False) -> np.ndarray:
        src = self._up(np.ascontiguousarray(img8, dtype=np.uint8))
        n = img8.shape[0] * img8.shape[1]
        dst = self._empty(img8.shape)
        self._mod.get_function("decode_u8_kernel")(
            src, dst, np.int64(n), self._up(table.astype(np.float32)), np.int32(swap_rb),
            block=(256, 1, 1), grid=((n + 255) // 256, 1, 1),
        )  # fmt: skip
        return np.asarray(dst.get())

    def encode_u8(self, img: np.ndarray, table: np.ndarray, swap_rb: bool = False) -> np.ndarray:
        src = self._up(as_image(img))
        n = img.shape[0] * img.shape[1]
        dst = self._empty(img.shape, np.uint8)
        self._mod.get_function("encode_u8_kernel")(
            src, dst, np.int64(n), self._up(table.astype(np.uint8)), np.int32(len(table)),
            np.int32(swap_rb), block=(256, 1, 1), grid=((n + 255) // 256, 1, 1),
        )  # fmt: skip
        return np.asarray(dst.get())
