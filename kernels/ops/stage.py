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
