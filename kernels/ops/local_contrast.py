"""Texture and clarity: edge-aware local contrast on log2 luminance with a self-guided filter
(He et al.), computed on a grid shrunk by radius/4 ("fast guided filter") and applied per
pixel. Clarity uses a radius of 2% of the long edge, texture 0.4%; +-100 adds or removes
0.8x the detail above the edge-preserving base. Dehaze: the dark-channel prior on the same kind
of grid."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from kernels.ops import grid
from kernels.ops.blur import box_kernel, gaussian_kernel
from kernels.ops.stage import luma

if TYPE_CHECKING:
    from kernels.backends.base import Backend

CLARITY_RADIUS = 0.02
TEXTURE_RADIUS = 0.004
CLARITY_EPS = 0.25  # log2-luminance variance (stops^2) that counts as an edge
TEXTURE_EPS = 0.05
DETAIL_GAIN = 0.8
DEHAZE_PATCH = 0.01  # dark-channel patch radius, fraction of the long edge
DEHAZE_FLOOR = 0.1  # lowest transmission: keeps dense haze from blowing up noise


def guided_coefficients(backend: Backend, log_y: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """(2, h, w): A and B of the self-guided filter base = A * log_y + B."""
    k = box_kernel(radius)
    mean = backend.convolve(log_y, k, k)[..., 0]
    mean_sq = backend.convolve(log_y * log_y, k, k)[..., 0]
    var = np.maximum(mean_sq - mean * mean, 0.0)
    a = var / (var + eps)
    b = mean - a * mean
    ab = backend.convolve(np.stack([a, b], axis=-1).astype(np.float32), k, k)
    return np.ascontiguousarray(ab.transpose(2, 0, 1), dtype=np.float32)


@dataclass
class LocalContrast:
    texture: float = 0.0
    clarity: float = 0.0
    halo: int = 0  # the apply is per pixel; the grids cover the whole image
    _grids: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    def prepare(self, backend: Backend, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        self._grids = []
        for amount, frac, eps in (
            (self.clarity, CLARITY_RADIUS, CLARITY_EPS),
            (self.texture, TEXTURE_RADIUS, TEXTURE_EPS),
        ):
            if amount == 0:
                continue
            radius = max(2.0, frac * max(h, w))
            step = max(1.0, radius / 4)
            gh, gw = grid.grid_shape(h, w, step)
            small = grid.shrink(backend, image, gh, gw)
            log_y = np.log2(np.maximum(luma(small), 1e-6)).astype(np.float32)
            ab = guided_coefficients(backend, log_y, max(1, round(radius / step)), eps)
            p = np.array([gh, gw, w / gw, h / gh, amount / 100 * DETAIL_GAIN], dtype=np.float32)
            self._grids.append((ab, p))

    def run(self, backend: Backend, band: np.ndarray, y0: int) -> np.ndarray:
        out = band.copy()
        self.apply(backend, out, None, 0, y0)
        return out

    def aux(self, backend: Backend, band: np.ndarray, y0: int) -> None:
        return None  # the grids are global

    def apply(self, backend: Backend, core: np.ndarray, aux: None, offset: int, y0: int) -> None:
        for ab, p in self._grids:
            backend.local_contrast(core, y0, ab, p, inplace=True)


def local_contrast_reference(rgb: np.ndarray, y0: int, ab: np.ndarray, p: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    xs = np.arange(w, dtype=np.float64)[None, :]
    ys = np.arange(y0, y0 + h, dtype=np.float64)[:, None]
    y = luma(rgb).astype(np.float64)
    lit = y > 1e-6
    log_y = np.log2(np.where(lit, y, 1.0))
    a = grid.sample(ab[0], float(p[2]), float(p[3]), xs, ys)
    b = grid.sample(ab[1], float(p[2]), float(p[3]), xs, ys)
    gain = np.where(lit, np.exp2(p[4] * (log_y - (a * log_y + b))), 1.0)
    return (rgb * gain[..., None]).astype(np.float32)


@dataclass
class Dehaze:
    amount: float
    halo: int = 0
    _grid: np.ndarray | None = None
    _params: np.ndarray | None = None

    def prepare(self, backend: Backend, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        step = max(1.0, max(h, w) / 512)
        gh, gw = grid.grid_shape(h, w, step)
        small = grid.shrink(backend, image, gh, gw)
        patch = max(1, round(DEHAZE_PATCH * max(h, w) / step))
        dark = backend.min_filter(small.min(axis=-1), patch)
        # Airlight: the mean colour of the haziest 0.1% (brightest dark channel).
        n = max(1, dark.size // 1000)
        idx = np.argpartition(dark.ravel(), -n)[-n:]
        airlight = np.maximum(small.reshape(-1, 3)[idx].mean(axis=0), 1e-3)
        if self.amount > 0:
            norm = backend.min_filter((small / airlight).min(axis=-1).astype(np.float32), patch)
            k = gaussian_kernel(patch)
            t = 1.0 - 0.95 * self.amount / 100 * backend.convolve(norm, k, k)[..., 0]
        else:  # negative dehaze adds a uniform veil of the airlight colour
            t = np.full((gh, gw), 1.0 / (1.0 + self.amount / 100 * 0.6), dtype=np.float32)
        self._grid = np.ascontiguousarray(t, dtype=np.float32)
        self._params = np.array([gh, gw, w / gw, h / gh, *airlight, DEHAZE_FLOOR], dtype=np.float32)

    def run(self, backend: Backend, band: np.ndarray, y0: int) -> np.ndarray:
        out = band.copy()
        self.apply(backend, out, None, 0, y0)
        return out

    def aux(self, backend: Backend, band: np.ndarray, y0: int) -> None:
        return None  # the grid is global

    def apply(self, backend: Backend, core: np.ndarray, aux: None, offset: int, y0: int) -> None:
        if self._grid is None or self._params is None:
            raise RuntimeError("Dehaze.prepare() must run before Dehaze.apply()")
        backend.dehaze(core, y0, self._grid, self._params, inplace=True)


def dehaze_reference(rgb: np.ndarray, y0: int, t_grid: np.ndarray, p: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    xs = np.arange(w, dtype=np.float64)[None, :]
    ys = np.arange(y0, y0 + h, dtype=np.float64)[:, None]
    t = np.maximum(grid.sample(t_grid, float(p[2]), float(p[3]), xs, ys), float(p[7]))
    a = p[4:7].astype(np.float64)
    return ((rgb - a) / t[..., None] + a).astype(np.float32)
