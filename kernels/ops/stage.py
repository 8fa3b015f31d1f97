"""A per-pixel stage: one `__device__` function of `kernels/cuda/<kernel>.cu`, its packed
parameters and the NumPy reference that defines what it computes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# reference(rgb HxWx3 float32, params, xs (1xW), ys (Hx1)) -> new HxWx3 float32; xs/ys are the
# global pixel coordinates so position-dependent stages (vignette, grain) tile seamlessly.
Reference = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]

LUMA = np.array([0.2627, 0.6780, 0.0593], dtype=np.float32)  # Rec.2020, linear light


@dataclass(frozen=True)
class PixelStage:
    kernel: str  # the .cu file stem; its device function is `<kernel>_px`
    params: np.ndarray  # float32, read by the device function as `const float* P`
    reference: Reference

    def __post_init__(self) -> None:
        if self.params.dtype != np.float32 or self.params.ndim != 1:
            raise TypeError("stage params must be a flat float32 array")


def luma(rgb: np.ndarray) -> np.ndarray:
    """Luminance of linear Rec.2020 (float32, HxW)."""
    return (rgb[..., 0] * LUMA[0] + rgb[..., 1] * LUMA[1] + rgb[..., 2] * LUMA[2]).astype(
        np.float32
    )


def smoothstep(e0: float | np.ndarray, e1: float | np.ndarray, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def safe_pow(v: np.ndarray, e: float) -> np.ndarray:
    """v**e for v > 0, 0 elsewhere (what k_pow computes)."""
    return np.where(v > 0, np.power(np.maximum(v, 1e-30), e), 0.0)


def pixel_coords(
    height: int, width: int, x0: int = 0, y0: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    xs = (np.arange(width, dtype=np.float32) + np.float32(x0))[None, :]
    ys = (np.arange(height, dtype=np.float32) + np.float32(y0))[:, None]
    return xs, ys


# Tables indexed by a float32's bits (common.cuh: k_bits_index): entries at every float from a
# power of two `lo` whose low SEG_SHIFT mantissa bits are zero, i.e. 128 per octave, linear in
# the value within each segment. Spacing is a constant fraction of the value (0.4-0.8 %), like a
# log2 grid, and the index costs an integer subtract and shift instead of a log2 or sqrt.
SEG_SHIFT = 16
SEGMENTS_PER_OCTAVE = 1 << (23 - SEG_SHIFT)


def bits_grid(lo: float, octaves: int) -> np.ndarray:
    """float32 sample points from lo (a power of two) to lo * 2**octaves inclusive."""
    base = int(np.float32(lo).view(np.int32))
    k = np.arange(octaves * SEGMENTS_PER_OCTAVE + 1, dtype=np.int64)
    return (base + (k << SEG_SHIFT)).astype(np.int32).view(np.float32)


def bits_index(v: np.ndarray, lo: float) -> tuple[np.ndarray, np.ndarray]:
    """Segment and float64 position in it of float32 v >= lo (what k_bits_index computes)."""
    d = v.astype(np.float32).view(np.int32) - np.float32(lo).view(np.int32)
    f = (d & ((1 << SEG_SHIFT) - 1)).astype(np.float64) / (1 << SEG_SHIFT)
    return d >> SEG_SHIFT, f


def lerp_pairs(values: np.ndarray) -> np.ndarray:
    """(..., n - 1, 2) float32 (value, next value minus it) for the last axis of `values`: the
    layout `k_lerp_pair` reads, one lookup per segment instead of two."""
    v = np.asarray(values, dtype=np.float32)
    slope = (v[..., 1:].astype(np.float64) - v[..., :-1]).astype(np.float32)
    return np.stack([v[..., :-1], slope], axis=-1)


def lerp_pair(pairs: np.ndarray, i: np.ndarray, f: np.ndarray) -> np.ndarray:
    """What `k_lerp_pair` computes, in float64: value + slope * f at segment i of flat pairs."""
    p = pairs.reshape(-1, 2).astype(np.float64)
    return p[i, 0] + p[i, 1] * f
