"""Exposure and the Light sliders (contrast, highlights, shadows, whites, blacks).

Exposure is a plain gain (+1 EV doubles linear values). The sliders form a tone function of
luminance in stops around middle grey 0.18 (log-contrast up to 0.6 stops per stop,
highlights/shadows +-1.5 stops, whites/blacks +-1 stop through sigmoids), baked to a gain table
every 0.009 stop from -24 to +12 stops (clamped beyond) and applied as an RGB gain so hue is
kept.
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


TABLE_SIZE = 4096
FIRST_STOP, LAST_STOP = -24.0, 12.0  # middle grey (0 stops) falls exactly on an entry


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-z))


def tone_gain(sliders: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """The RGB gain at `stops` (log2 of luminance / 0.18) for sliders / 100."""
    c, hi, sh, wh, bl = (float(v) for v in sliders)
    L = stops
    L2 = L * 2.0 ** (0.6 * c)
    L2 = L2 + 1.5 * hi * _sigmoid(2.0 * (L - 1.0))
    L2 = L2 + 1.5 * sh * _sigmoid(-2.0 * (L + 1.5))
    L2 = L2 + 1.0 * wh * _sigmoid(3.0 * (L - 2.2))
    L2 = L2 + 1.0 * bl * _sigmoid(-3.0 * (L + 4.0))
    return np.exp2(L2 - L)


def tone_table(sliders: np.ndarray) -> np.ndarray:
    """n, first stop, 1 / step, then the gain sampled every step (what the kernel reads)."""
    stops = np.linspace(FIRST_STOP, LAST_STOP, TABLE_SIZE)
    inv_step = (TABLE_SIZE - 1) / (LAST_STOP - FIRST_STOP)
    return np.concatenate([[TABLE_SIZE, FIRST_STOP, inv_step], tone_gain(sliders, stops)])


def tone_reference(rgb: np.ndarray, p: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    n = int(p[0])
    stops = np.linspace(FIRST_STOP, LAST_STOP, n)
    y = luma(rgb).astype(np.float64)
    L = np.log2(np.maximum(y, 1e-6) / 0.18)
    gain = np.where(y > 1e-6, np.interp(L, stops, p[3:].astype(np.float64)), 1.0)
    return (rgb * gain[..., None]).astype(np.float32)


def tone_stage(
    contrast: float, highlights: float, shadows: float, whites: float, blacks: float
) -> PixelStage | None:
    sliders = np.array([contrast, highlights, shadows, whites, blacks], dtype=np.float32) / 100
    if not sliders.any():
        return None
    return PixelStage("light", tone_table(sliders).astype(np.float32), tone_reference)
