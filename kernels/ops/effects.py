"""Post-crop effects: vignette (up to +-2 stops over a superellipse) and film grain (hashed value
noise, the same on every backend and tile). Both depend on the global pixel position."""

from __future__ import annotations

import numpy as np

from kernels.ops.stage import PixelStage, safe_pow, smoothstep
from kernels.params import Grain, Vignette

VIGNETTE_STOPS = 2.0
GRAIN_STRENGTH = 0.3


def vignette_params(v: Vignette, width: int, height: int) -> np.ndarray:
    roundness = v.roundness / 100
    # Negative roundness squares the shape (higher exponent); positive makes it a circle
    # instead of following the frame's aspect.
    exponent = 2.0 + 6.0 * max(0.0, -roundness)
    long_edge = max(width, height)
    sx = 1.0 + (width / long_edge - 1.0) * max(0.0, roundness)
    sy = 1.0 + (height / long_edge - 1.0) * max(0.0, roundness)
    mid = 0.4 + 0.9 * v.midpoint / 100
    feather = 0.02 + 0.6 * v.feather / 100
    stops = v.amount / 100 * VIGNETTE_STOPS
    return np.array([width, height, stops, mid, feather, exponent, sx, sy], dtype=np.float32)


def vignette_reference(
    rgb: np.ndarray, p: np.ndarray, xs: np.ndarray, ys: np.ndarray
) -> np.ndarray:
    p = p.astype(np.float64)
    u = np.abs(((xs + 0.5) / p[0] * 2 - 1) * p[6])
    v = np.abs(((ys + 0.5) / p[1] * 2 - 1) * p[7])
    d = safe_pow(safe_pow(u, p[5]) + safe_pow(v, p[5]), 1 / p[5])
    gain = np.exp2(p[2] * smoothstep(p[3] - p[4], p[3] + p[4], d))
    return (rgb * gain[..., None]).astype(np.float32)


def vignette_stage(v: Vignette, width: int, height: int) -> PixelStage | None:
    if v.amount == 0:
        return None
    return PixelStage("vignette", vignette_params(v, width, height), vignette_reference)


def _hash(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        h = (
            x.astype(np.uint32) * np.uint32(0x8DA6B343)
            ^ y.astype(np.uint32) * np.uint32(0xD8163841)
            ^ np.uint32(seed) * np.uint32(0xCB1AB31F)
        )
        h ^= h >> np.uint32(16)
        h *= np.uint32(0x7FEB352D)
        h ^= h >> np.uint32(15)
        h *= np.uint32(0x846CA68B)
        h ^= h >> np.uint32(16)
    return h


def _lattice(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    h = _hash(ix.astype(np.int64) & 0xFFFFFFFF, iy.astype(np.int64) & 0xFFFFFFFF, seed)
    return (h >> np.uint32(8)).astype(np.float32) * np.float32(2.0 / 16777216.0) - np.float32(1)


def grain_noise(xs: np.ndarray, ys: np.ndarray, cell: float, seed: int) -> np.ndarray:
    gx, gy = xs / np.float32(cell), ys / np.float32(cell)
    ix, iy = np.floor(gx), np.floor(gy)
    fx, fy = gx - ix, gy - iy
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    ix, iy = np.broadcast_arrays(ix, iy)
    fx, fy = np.broadcast_arrays(fx, fy)
    a, b = _lattice(ix, iy, seed), _lattice(ix + 1, iy, seed)
    c, d = _lattice(ix, iy + 1, seed), _lattice(ix + 1, iy + 1, seed)
    top, bot = a + (b - a) * fx, c + (d - c) * fx
    return top + (bot - top) * fy


def grain_reference(rgb: np.ndarray, p: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    seed = int(p[3:4].view(np.uint32)[0])
    fine = grain_noise(xs, ys, float(p[1]) * 0.5, seed ^ 0x9E3779B9)
    n = (1 - p[2]) * grain_noise(xs, ys, float(p[1]), seed) + p[2] * fine
    return (rgb * (1.0 + p[0] * n)[..., None]).astype(np.float32)


def grain_stage(g: Grain, scale: float = 1.0) -> PixelStage | None:
    """`scale` is output pixels per source pixel, so grain keeps its size on a preview."""
    if g.amount == 0:
        return None
    cell = max(1.0, (1.0 + g.size / 100 * 3.0) * scale)
    seed = np.array([g.seed], dtype=np.uint32).view(np.float32)[0]
    p = np.array([g.amount / 100 * GRAIN_STRENGTH, cell, g.roughness / 100, seed], np.float32)
    return PixelStage("grain", p, grain_reference)
