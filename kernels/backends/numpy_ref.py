"""The NumPy reference backend: plain, obviously correct, the oracle for the fast backends."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kernels.backends.base import Backend, as_image
from kernels.ops import local_contrast, sampling, sharpen
from kernels.ops.stage import PixelStage, luma, pixel_coords


def _reflect101(n: int, r: int) -> np.ndarray:
    idx = np.arange(-r, n + r)
    if n == 1:
        return np.zeros_like(idx)
    period = 2 * n - 2
    idx = np.abs(idx) % period
    return np.where(idx >= n, period - idx, idx)


def convolve_axis(img: np.ndarray, k: np.ndarray, axis: int) -> np.ndarray:
    r = len(k) // 2
    n = img.shape[axis]
    padded = np.take(img, _reflect101(n, r), axis=axis).astype(np.float64)
    out = np.zeros(img.shape, dtype=np.float64)
    for i, w in enumerate(k.astype(np.float64)):
        out += w * np.take(padded, np.arange(i, i + n), axis=axis)
    return out.astype(np.float32)


class NumpyBackend(Backend):
    name = "numpy"

    def pixel_stages(
        self, rgb: np.ndarray, stages: Sequence[PixelStage], x0: int = 0, y0: int = 0
    ) -> np.ndarray:
        xs, ys = pixel_coords(rgb.shape[0], rgb.shape[1], x0, y0)
        out = np.asarray(rgb, dtype=np.float32)
        for stage in stages:
            out = stage.reference(out, stage.params, xs, ys)
        return out.copy() if out is rgb else out

    def convolve(self, img: np.ndarray, kx: np.ndarray, ky: np.ndarray) -> np.ndarray:
        return convolve_axis(convolve_axis(as_image(img), kx, 1), ky, 0)

    def min_filter(self, img: np.ndarray, radius: int) -> np.ndarray:
        out = np.asarray(img, dtype=np.float32)
        for axis in (1, 0):
            n = out.shape[axis]
            idx = np.clip(np.arange(n)[:, None] + np.arange(-radius, radius + 1), 0, n - 1)
            out = np.take(out, idx, axis=axis).min(axis=axis + 1)
        return out

    def bilateral(
        self, img: np.ndarray, radius: int, sigma_s: float, sigma_luma: float, sigma_chroma: float
    ) -> np.ndarray:
        img = as_image(img)
        h, w, _ = img.shape
        y = luma(img).astype(np.float64)
        chroma = img.astype(np.float64) - y[..., None]
        yp = np.pad(y, radius, mode="edge")
        cp = np.pad(chroma, ((radius, radius), (radius, radius), (0, 0)), mode="edge")
        acc_l = np.zeros((h, w))
        acc_c = np.zeros((h, w, 3))
        wsum_l = np.zeros((h, w))
        wsum_c = np.zeros((h, w))
        for dy in range(-radius, radius + 1):
            for dx in range(-radius, radius + 1):
                ws = np.exp(-(dx * dx + dy * dy) / (2 * sigma_s * sigma_s))
                yn = yp[radius + dy : radius + dy + h, radius + dx : radius + dx + w]
                cn = cp[radius + dy : radius + dy + h, radius + dx : radius + dx + w]
                d2 = (yn - y) ** 2
                # A channel whose sigma is 0 is left as is below; its weights are unused.
                wl = ws * np.exp(-d2 / (2 * sigma_luma**2)) if sigma_luma > 0 else ws + 0 * d2
                wc = ws * np.exp(-d2 / (2 * sigma_chroma**2)) if sigma_chroma > 0 else ws + 0 * d2
                acc_l += wl * yn
                wsum_l += wl
                acc_c += wc[..., None] * cn
                wsum_c += wc
        y2 = acc_l / wsum_l if sigma_luma > 0 else y
        c2 = acc_c / wsum_c[..., None] if sigma_chroma > 0 else chroma
        return (y2[..., None] + c2).astype(np.float32)

    def warp(
        self, img: np.ndarray, params: np.ndarray, out_h: int, out_w: int, y0: int = 0
    ) -> np.ndarray:
        img = as_image(img)
        xs, ys = pixel_coords(out_h, out_w, 0, y0)
        planes = [
            sampling.bicubic(img[..., c], *sampling.warp_coords(params, xs, ys, c))
            for c in range(img.shape[2])
        ]
        return np.stack(planes, axis=-1).astype(np.float32)

    def resize_axis(self, img: np.ndarray, size: int, axis: int) -> np.ndarray:
        img = as_image(img)
        start, weights = sampling.lanczos_weights(img.shape[axis], size)
        taps = weights.shape[1]
        n = img.shape[axis]
        idx = np.clip(start[:, None] + np.arange(taps), 0, n - 1)  # zero weights past the edge
        gathered = np.take(img.astype(np.float64), idx, axis=axis)  # (..., size, taps, ...)
        shape = [1] * gathered.ndim
        shape[axis], shape[axis + 1] = size, taps
        return (gathered * weights.reshape(shape)).sum(axis=axis + 1).astype(np.float32)

    def luma(self, rgb: np.ndarray) -> np.ndarray:
        return luma(rgb)

    def local_contrast(
        self,
        rgb: np.ndarray,
        y0: int,
        coefficients: np.ndarray,
        params: np.ndarray,
        inplace: bool = False,
    ) -> np.ndarray:
        out = local_contrast.local_contrast_reference(rgb, y0, coefficients, params)
        return _store(rgb, out, inplace)

    def dehaze(
        self,
        rgb: np.ndarray,
        y0: int,
        transmission: np.ndarray,
        params: np.ndarray,
        inplace: bool = False,
    ) -> np.ndarray:
        out = local_contrast.dehaze_reference(rgb, y0, transmission, params)
        return _store(rgb, out, inplace)

    def sharpen(
        self,
        rgb: np.ndarray,
        blurred_luma: np.ndarray,
        params: np.ndarray,
        row_offset: int = 0,
        inplace: bool = False,
    ) -> np.ndarray:
        out = sharpen.apply_reference(rgb, blurred_luma, params, row_offset)
        return _store(rgb, out, inplace)


def _store(rgb: np.ndarray, out: np.ndarray, inplace: bool) -> np.ndarray:
    if not inplace:
        return out
    rgb[...] = out
    return rgb
