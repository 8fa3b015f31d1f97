"""Tone curve: parametric regions then point curves, baked to three per-channel LUTs.

Curves live in a gamma-2.2 encoding of scene-linear values ("display-referred 0..1" as the
recipe says). The composite is baked to linear-in, linear-out tables sampled at every 1/128
octave of linear input from 2^-20 to 1 and interpolated linearly in v within each segment: the
kernel indexes them by the float's bits (`stage.bits_index`) and needs no power or square root.
Above 1 the curve's end gain continues; below 2^-20 (encoded 0.002, half an 8-bit code) the gain
at 2^-20 continues down to 0; zero and negatives pass through. The kernel reads each segment as
a (value, slope) pair (`stage.lerp_pairs`). Point curves use
the monotone cubic of Fritsch and Carlson (scipy's PCHIP), so monotone points give a monotone
curve. The composite is point_luma(parametric(x)) followed by the channel's own curve.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import PchipInterpolator

from kernels.ops.stage import (
    SEGMENTS_PER_OCTAVE,
    PixelStage,
    bits_grid,
    bits_index,
    lerp_pair,
    lerp_pairs,
    safe_pow,
)
from kernels.params import CurvePoint, ToneCurve

LUT_SIZE = 4096  # encoded-domain samples of `bake` (tests, plots)
FIRST_LINEAR, OCTAVES = 2.0**-20, 20  # the kernel's tables cover linear 2^-20 .. 1
PARAMETRIC_STRENGTH = 0.15  # a region slider at +-100 moves its centre by this much


def _bump(x: np.ndarray, lo: float, centre: float, hi: float) -> np.ndarray:
    """A smooth bump that is 1 at `centre` and 0 outside (lo, hi)."""
    left = np.clip((x - lo) / max(centre - lo, 1e-6), 0, 1)
    right = np.clip((hi - x) / max(hi - centre, 1e-6), 0, 1)
    t = np.minimum(left, right)
    return t * t * (3 - 2 * t)


def parametric(curve: ToneCurve, x: np.ndarray) -> np.ndarray:
    s1, s2, s3 = curve.shadow_split / 100, curve.midtone_split / 100, curve.highlight_split / 100
    regions = [
        (curve.shadows, 0.0, s1 / 2, s2),
        (curve.darks, 0.0, (s1 + s2) / 2, s3),
        (curve.lights, s1, (s2 + s3) / 2, 1.0),
        (curve.highlights, s2, (s3 + 1) / 2, 1.0),
    ]
    y = x.copy()
    for amount, lo, centre, hi in regions:
        y += amount / 100 * PARAMETRIC_STRENGTH * _bump(x, lo, centre, hi)
    # Strong opposite sliders could fold the curve: keep it monotone and in range.
    return np.maximum.accumulate(np.clip(y, 0.0, 1.0))


def point_curve(points: list[CurvePoint], x: np.ndarray) -> np.ndarray:
    if not points:
        return x
    px = np.array([p[0] for p in points])
    py = np.array([p[1] for p in points])
    inside = PchipInterpolator(px, py, extrapolate=False)(np.clip(x, px[0], px[-1]))
    # Flat beyond the end points, as every editor draws it.
    return np.clip(np.where(x < px[0], py[0], np.where(x > px[-1], py[-1], inside)), 0.0, 1.0)


def bake(curve: ToneCurve, x: np.ndarray | None = None) -> np.ndarray:
    """(3, len(x)) float64: the composite curve for R, G, B on encoded values x (sorted)."""
    x = np.linspace(0.0, 1.0, LUT_SIZE) if x is None else x
    base = point_curve(curve.luma, parametric(curve, x))
    return np.stack([point_curve(pts, base) for pts in (curve.red, curve.green, curve.blue)])


def linear_tables(curve: ToneCurve) -> np.ndarray:
    """(3, n): linear output at the bits-grid linear inputs 2^-20 .. 1 (the kernel's tables)."""
    v = bits_grid(FIRST_LINEAR, OCTAVES).astype(np.float64)
    return safe_pow(bake(curve, safe_pow(v, 1 / 2.2)), 2.2)


def params(curve: ToneCurve) -> np.ndarray:
    """What the kernel reads: segments m from lo to 1, lo, 1 / lo, 1, the first segment of each
    channel's table, then the distinct tables as m + 1 (value, slope) pairs each
    (`stage.lerp_pairs`, the last at v = 1 with slope 0): channels with the same curve share a
    table."""
    tables = linear_tables(curve).astype(np.float32)
    m = OCTAVES * SEGMENTS_PER_OCTAVE
    distinct, which = np.unique(tables, axis=0, return_inverse=True)
    pairs = np.concatenate([lerp_pairs(distinct), np.zeros((len(distinct), 1, 2))], axis=1)
    pairs[:, -1, 0] = distinct[:, -1]
    head = [m, FIRST_LINEAR, 1 / FIRST_LINEAR, 1.0, *(np.ravel(which) * (m + 1))]
    return np.concatenate([head, pairs.ravel()]).astype(np.float32)


def reference(rgb: np.ndarray, p: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    lo = float(p[1])
    pairs = p[7:].reshape(-1, 2)
    out = np.empty_like(rgb)
    for c in range(3):
        v32 = rgb[..., c]
        v = v32.astype(np.float64)
        i, f = bits_index(np.clip(v32, np.float32(lo), np.float32(1.0)), lo)
        inside = lerp_pair(pairs, int(p[4 + c]) + i, f)
        # Beyond the table its end gains continue: v / clamp(v, lo, 1) scales the end values.
        y = inside * (v / np.clip(v, lo, 1.0))
        out[..., c] = np.where(v > 0, y, v)
    return out


def stage(curve: ToneCurve) -> PixelStage | None:
    flat = not (curve.highlights or curve.lights or curve.darks or curve.shadows)
    if flat and not (curve.luma or curve.red or curve.green or curve.blue):
        return None  # the split points alone move nothing
    return PixelStage("tone_curve", params(curve), reference)
