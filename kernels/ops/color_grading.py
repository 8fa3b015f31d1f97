"""Colour grading (split toning) and vibrance / saturation.

Each wheel becomes RGB gains along the hue's chroma direction (zero luminance, so a neutral grey
keeps its brightness) with strength saturation/100 * 0.5, plus luminance/100 stops. Region
weights use the gamma-2.2 luminance: the midpoint moves with balance (0.5 -+ 0.3) and the
overlap grows with blending (half width 0.05..0.5).
"""

from __future__ import annotations

import colorsys
import functools
import operator

import numpy as np

from kernels.ops.stage import LUMA, PixelStage, luma, safe_pow, smoothstep
from kernels.params import ColorGrading, ColorWheel, Presence

WHEEL_STRENGTH = 0.5


def _wheel(w: ColorWheel) -> list[float]:
    rgb = np.array(colorsys.hsv_to_rgb(w.hue / 360.0, 1.0, 1.0))
    direction = rgb - float(LUMA @ rgb)
    direction /= np.abs(direction).max()
    gains = direction * w.saturation / 100 * WHEEL_STRENGTH
    return [*gains.tolist(), w.luminance / 100]


def grading_params(cg: ColorGrading) -> np.ndarray:
    mid = 0.5 - 0.3 * cg.balance / 100
    half = 0.05 + 0.45 * cg.blending / 100
    wheels = [cg.shadows, cg.midtones, cg.highlights, cg.global_]
    return np.array(
        [mid, half, *functools.reduce(operator.iadd, (_wheel(w) for w in wheels), [])],
        dtype=np.float32,
    )


def grading_reference(rgb: np.ndarray, p: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    p = p.astype(np.float64)
    t = np.clip(safe_pow(luma(rgb).astype(np.float64), 1 / 2.2), 0.0, 1.0)
    ws = 1.0 - smoothstep(0.0, p[0] + p[1], t)
    wh = smoothstep(p[0] - p[1], 1.0, t)
    wm = np.maximum(0.0, 1.0 - ws - wh)
    S, M, H, G = p[2:6], p[6:10], p[10:14], p[14:18]
    w = np.stack([ws, wm, wh], axis=-1)
    wheels = np.stack([S, M, H])
    gains = 1.0 + w @ wheels[:, :3] + G[:3]
    stops = w @ wheels[:, 3] + G[3]
    return (rgb * gains * np.exp2(stops)[..., None]).astype(np.float32)


def grading_stage(cg: ColorGrading) -> PixelStage | None:
    wheels = (cg.shadows, cg.midtones, cg.highlights, cg.global_)
    if all(w.saturation == 0 and w.luminance == 0 for w in wheels):
        return None  # hue, blending and balance alone move nothing
    return PixelStage("color_grading", grading_params(cg), grading_reference)


def saturation_reference(
    rgb: np.ndarray, p: np.ndarray, xs: np.ndarray, ys: np.ndarray
) -> np.ndarray:
    y = luma(rgb)[..., None]
    mx, mn = rgb.max(axis=-1), rgb.min(axis=-1)
    s = np.where(mx > 1e-8, np.clip((mx - mn) / np.where(mx > 1e-8, mx, 1.0), 0.0, 1.0), 0.0)
    k = (1.0 + p[1]) * (1.0 + p[0] * (1.0 - s))
    return (y + (rgb - y) * k[..., None]).astype(np.float32)


def saturation_stage(presence: Presence) -> PixelStage | None:
    if presence.vibrance == 0 and presence.saturation == 0:
        return None
    p = np.array([presence.vibrance / 100, presence.saturation / 100], dtype=np.float32)
    return PixelStage("saturation", p, saturation_reference)
