"""Exposure and the Light sliders (contrast, highlights, shadows, whites, blacks).

Exposure is a plain gain (+1 EV doubles linear values). The sliders form a tone function of
luminance in stops around middle grey 0.18 (log-contrast up to 0.6 stops per stop,
highlights/shadows +-1.5 stops, whites/blacks +-1 stop through sigmoids), baked to a gain table
over luminance 2^-20 .. 2^12 (about -17 to +14 stops; clamped beyond) at every 1/128 octave,
interpolated linearly in luminance within each segment (the kernel indexes it by the float's
bits, `stage.bits_index`, instead of taking a log2, and reads (gain, slope) pairs), and applied
as an RGB gain so hue is kept.
"""

from __future__ import annotations

import numpy as np

from kernels.ops.stage import PixelStage, bits_grid, bits_index, lerp_pair, lerp_pairs, luma


def exposure_reference(
    rgb: np.ndarray, p: np.ndarray, xs: np.ndarray, ys: np.ndarray
) -> np.ndarray:
    return (rgb * p[0]).astype(np.float32)


def exposure_stage(ev: float) -> PixelStage | None:
    if ev == 0:
        return None
    return PixelStage("exposure", np.array([2.0**ev], dtype=np.float32), exposure_reference)


FIRST_LUMA, OCTAVES = 2.0**-20, 32  # luminance 9.5e-7 .. 4096
# The clamp's top: the last float below 2^12, so that the index stays inside the table.
LAST_LUMA = float(np.nextafter(np.float32(FIRST_LUMA * 2.0**OCTAVES), np.float32(0)))


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
    """First and last luminance, then (gain, slope) from every bits-grid point to the next
    (`stage.lerp_pairs`: what the kernel reads)."""
    lum = bits_grid(FIRST_LUMA, OCTAVES).astype(np.float64)
    gains = lerp_pairs(tone_gain(sliders, np.log2(lum / 0.18)))
    return np.concatenate([[FIRST_LUMA, LAST_LUMA], gains.ravel()]).astype(np.float32)


def tone_reference(rgb: np.ndarray, p: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    y = luma(rgb)
    i, f = bits_index(np.clip(y, p[0], p[1]), float(p[0]))
    gain = np.where(y > 1e-6, lerp_pair(p[2:], i, f), 1.0)
    return (rgb * gain[..., None]).astype(np.float32)


def tone_stage(
    contrast: float, highlights: float, shadows: float, whites: float, blacks: float
) -> PixelStage | None:
    sliders = np.array([contrast, highlights, shadows, whites, blacks], dtype=np.float32) / 100
    if not sliders.any():
        return None
    return PixelStage("light", tone_table(sliders), tone_reference)
