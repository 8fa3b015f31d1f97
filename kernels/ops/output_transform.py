"""Output transform to display-referred [0, 1]: gamut compression toward luminance for negative
channels, a hue-preserving highlight roll-off of the brightest channel above a knee (drifting
to white), and a clip. Values inside [0, knee] with no negative channel are untouched."""

from __future__ import annotations

import numpy as np

from kernels.ops.stage import PixelStage, luma

KNEE = 0.8


def reference(rgb: np.ndarray, p: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    x = rgb.astype(np.float64)
    y = np.maximum(luma(rgb).astype(np.float64), 0.0)[..., None]
    mn = x.min(axis=-1, keepdims=True)
    neg = mn < 0
    t = np.where(neg, y / np.where(neg, y - mn, 1.0), 1.0)
    x = np.where(neg, y + (x - y) * t, x)
    knee = float(p[0])
    mx = x.max(axis=-1, keepdims=True)
    hot = mx > knee
    z = np.where(hot, (mx - knee) / (1 - knee), 0.0)
    s = z / (1 + z)
    m2 = knee + (1 - knee) * s
    gained = x * np.where(hot, m2 / np.where(hot, mx, 1.0), 1.0)
    x = np.where(hot, gained + (m2 - gained) * s * s, x)
    return np.clip(x, 0.0, 1.0).astype(np.float32)


def stage(knee: float = KNEE) -> PixelStage:
    return PixelStage("output_transform", np.array([knee], dtype=np.float32), reference)
