"""Low-resolution grids over the whole image and their bilinear sampling at full resolution
(mirrors `grid_sample` in kernels/cuda/detail_apply.cu)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kernels.backends.base import Backend


def grid_shape(h: int, w: int, step: float) -> tuple[int, int]:
    return max(1, math.ceil(h / step)), max(1, math.ceil(w / step))


def shrink(backend: Backend, img: np.ndarray, gh: int, gw: int) -> np.ndarray:
    """Antialiased Lanczos shrink, columns first (as Pillow does)."""
    out = backend.resize_axis(img, gw, 1) if gw != img.shape[1] else img
    return backend.resize_axis(out, gh, 0) if gh != img.shape[0] else out


def sample(grid: np.ndarray, sx: float, sy: float, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    gh, gw = grid.shape
    gx = np.clip((xs + 0.5) / sx - 0.5, 0.0, gw - 1.0)
    gy = np.clip((ys + 0.5) / sy - 0.5, 0.0, gh - 1.0)
    ix = np.minimum(np.floor(gx).astype(np.int64), max(gw - 2, 0))
    iy = np.minimum(np.floor(gy).astype(np.int64), max(gh - 2, 0))
    fx, fy = gx - ix, gy - iy
    ix1 = np.minimum(ix + 1, gw - 1)
    iy1 = np.minimum(iy + 1, gh - 1)
    g = grid.astype(np.float64)
    top = g[iy, ix] + (g[iy, ix1] - g[iy, ix]) * fx
    bot = g[iy1, ix] + (g[iy1, ix1] - g[iy1, ix]) * fx
    return top + (bot - top) * fy
