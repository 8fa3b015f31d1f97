"""Exposure and the Light sliders (contrast, highlights, shadows, whites, blacks).

Exposure is a plain gain (+1 EV doubles linear values). The sliders form a tone function of
luminance in stops around middle grey 0.18, applied as an RGB gain so hue is kept; the
constants (0.6 stops of log-contrast, 1.5 stops for highlights/shadows, 1 stop for
whites/blacks, sigmoid centres) are mirrored in `kernels/cuda/light.cu`.
"""

from __future__ import annotations

import numpy as np

from kernels.ops.stage import PixelStage, luma


def exposure_reference(
    rgb: np.ndarray, p: np.ndarray, xs: np.ndarray, ys: np.ndarray
) -> np.ndarray:
    return (rgb * p[0]).astype(np.float32)


def exposure_stage(ev: float) -> PixelStage | None:
    if ev == 0:
        return None
    return PixelStage("exposure", np.array([2.0**ev], dtype=np.float32), exposure_reference)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-z))


def tone_reference(rgb: np.ndarray, p: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    y = luma(rgb).astype(np.float64)
    lit = y > 1e-6
    L = np.log2(np.where(lit, y, 1.0) / 0.18)
    L2 = L * 2.0 ** (0.6 * float(p[0]))
    L2 += 1.5 * p[1] * _sigmoid(2.0 * (L - 1.0))
    L2 += 1.5 * p[2] * _sigmoid(-2.0 * (L + 1.5))
    L2 += 1.0 * p[3] * _sigmoid(3.0 * (L - 2.2))
    L2 += 1.0 * p[4] * _sigmoid(-3.0 * (L + 4.0))
    gain = np.where(lit, np.exp2(L2 - L), 1.0)
    return (rgb * gain[..., None]).astype(np.float32)


def tone_stage(
    contrast: float, highlights: float, shadows: float, whites: float, blacks: float
) -> PixelStage | None:
    sliders = np.array([contrast, highlights, shadows, whites, blacks], dtype=np.float32) / 100
    if not sliders.any():
        return None
    return PixelStage("light", sliders, tone_reference)
