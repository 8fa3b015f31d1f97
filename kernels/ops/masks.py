"""Local adjustment masks: shapes rasterised per pixel, combined in order (add = max,
subtract = a (1 - b), intersect = a b), then mask feather (a Gaussian of feather/100 * 2% of
the long edge) and opacity.

Shape coordinates are normalised to the source image; distances are measured in pixels so
circles stay round. This module is the reference (float64 NumPy); the backends rasterise the
same shapes from `mask_program.pack` with the `__device__` functions of kernels/cuda/mask.cu.

No edge is sharper than float32 can place: a shape's edge spans at least EDGE_PX pixels (a
feather of 0 is a one-pixel antialiased edge), a luminosity or saturation threshold at least
EDGE_VALUE, a hue threshold at least EDGE_DEG. A float32 position at 6000 px is only known to
~4e-4 px, so a step of 1e-6 px (what feather 0 used to be) put pixels on either side at random
between backends; these widths keep the float32 kernels within MASK_ATOL of the reference.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from kernels.ops import grid
from kernels.ops.blur import gaussian_kernel, gaussian_radius
from kernels.ops.stage import luma, safe_pow, smoothstep
from kernels.params import (
    BitmapMask,
    Brush,
    BrushStroke,
    ColorRange,
    LinearGradient,
    LuminosityRange,
    Mask,
    MaskMode,
    RadialGradient,
)

if TYPE_CHECKING:
    from kernels.backends.base import Backend

FEATHER_FRACTION = 0.02
EDGE_PX = 1.0
EDGE_VALUE = 1.0 / 256  # gamma-encoded luminosity, HSV saturation
EDGE_DEG = 1.0


def feather_sigma(mask: Mask, w: int, h: int) -> float:
    return mask.feather / 100 * FEATHER_FRACTION * max(w, h)


def halo(mask: Mask, w: int, h: int) -> int:
    sigma = feather_sigma(mask, w, h)
    return gaussian_radius(sigma) if sigma > 0 else 0


def _linear(s: LinearGradient, X: np.ndarray, Y: np.ndarray, w: int, h: int) -> np.ndarray:
    dx, dy = (s.x1 - s.x0) * w, (s.y1 - s.y0) * h
    length2 = dx * dx + dy * dy
    if length2 < 1e-12:
        return np.broadcast_to(np.float64(1.0), np.broadcast(X, Y).shape).copy()
    t = ((X - s.x0 * w) * dx + (Y - s.y0 * h) * dy) / length2
    return 1.0 - smoothstep(0.0, 1.0, t)


def _radial(s: RadialGradient, X: np.ndarray, Y: np.ndarray, w: int, h: int) -> np.ndarray:
    a = math.radians(s.angle)
    u, v = X - s.cx * w, Y - s.cy * h
    ur, vr = u * math.cos(a) + v * math.sin(a), -u * math.sin(a) + v * math.cos(a)
    d = np.sqrt((ur / (s.rx * w)) ** 2 + (vr / (s.ry * h)) ** 2)
    return 1.0 - smoothstep(radial_edge(s, w, h), 1.0, d)


def radial_edge(s: RadialGradient, w: int, h: int) -> float:
    """Where the radial fall-off starts (normalised radius): the feather, at least EDGE_PX in
    from the edge along the shorter axis."""
    return 1.0 - max(s.feather / 100, EDGE_PX / min(s.rx * w, s.ry * h))


def _segment_distance(X: np.ndarray, Y: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = b - a
    length2 = float(d @ d)
    t = 0.0 if length2 == 0 else np.clip(((X - a[0]) * d[0] + (Y - a[1]) * d[1]) / length2, 0, 1)
    return np.hypot(X - (a[0] + t * d[0]), Y - (a[1] + t * d[1]))


def stroke_radii(stroke: BrushStroke, long_edge: int) -> tuple[float, float]:
    """Outer radius and where the feather starts, in pixels (at least EDGE_PX apart)."""
    radius = stroke.size * long_edge / 2
    return radius, min(radius * (1 - stroke.feather / 100), radius - EDGE_PX)


def _brush(s: Brush, X: np.ndarray, Y: np.ndarray, w: int, h: int) -> np.ndarray:
    acc = np.zeros(np.broadcast(X, Y).shape)
    long_edge = max(w, h)
    for stroke in s.strokes:
        radius, inner = stroke_radii(stroke, long_edge)
        pts = np.array(stroke.points, dtype=np.float64) * [w, h]
        dist = np.full(acc.shape, np.inf)
        pairs = itertools.pairwise(pts) if len(pts) > 1 else [(pts[0], pts[0])]
        for a, b in pairs:
            dist = np.minimum(dist, _segment_distance(X, Y, a, b))
        dab = stroke.flow * (1.0 - smoothstep(inner, radius, dist))
        acc = acc * (1 - dab) if stroke.erase else np.maximum(acc, dab)
    return acc


def luminosity_softness(s: LuminosityRange) -> float:
    return max(s.smoothness * 0.5, EDGE_VALUE)


def _luminosity(s: LuminosityRange, rgb: np.ndarray) -> np.ndarray:
    lum = np.clip(safe_pow(luma(rgb).astype(np.float64), 1 / 2.2), 0, 1)
    soft = luminosity_softness(s)
    return smoothstep(s.low - soft, s.low, lum) * (1.0 - smoothstep(s.high, s.high + soft, lum))


def _color(s: ColorRange, rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    mx, mn = np.maximum(r, np.maximum(g, b)), np.minimum(r, np.minimum(g, b))
    c = mx - mn
    cs = np.where(c > 1e-12, c, 1.0)
    h6 = np.where(mx == r, (g - b) / cs, np.where(mx == g, (b - r) / cs + 2.0, (r - g) / cs + 4.0))
    hue = np.mod(h6, 6.0) * 60.0
    sat = np.where(mx > 1e-8, c / np.where(mx > 1e-8, mx, 1.0), 0.0)
    dh = np.abs((hue - s.hue + 180.0) % 360.0 - 180.0)
    hue_edge, sat_edge = color_edges(s)
    w_hue = 1.0 - smoothstep(hue_edge, s.hue_range, dh)
    w_sat = smoothstep(sat_edge, s.min_saturation, sat)
    return w_hue * w_sat


def color_edges(s: ColorRange) -> tuple[float, float]:
    """Where the hue and saturation fall-offs start (their ends: hue_range, min_saturation)."""
    hue_edge = min(s.hue_range * (1 - s.smoothness), s.hue_range - EDGE_DEG)
    return hue_edge, min(s.min_saturation * (1 - s.smoothness), s.min_saturation - EDGE_VALUE)


def _bitmap(
    s: BitmapMask,
    bitmaps: Mapping[str, np.ndarray] | None,
    xs: np.ndarray,
    ys: np.ndarray,
    w: int,
    h: int,
) -> np.ndarray:
    if bitmaps is None or s.asset_id not in bitmaps:
        raise KeyError(f"bitmap mask {s.asset_id!r} was not supplied in `bitmaps`")
    bm = np.asarray(bitmaps[s.asset_id])
    bm = bm.astype(np.float32) / 255.0 if bm.dtype == np.uint8 else bm.astype(np.float32)
    bm = bm[..., 0] if bm.ndim == 3 else bm
    return np.clip(grid.sample(bm, w / bm.shape[1], h / bm.shape[0], xs, ys), 0, 1)


def rasterise(
    mask: Mask,
    rgb: np.ndarray,
    y0: int,
    full_w: int,
    full_h: int,
    bitmaps: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Mask weights (HxW float32, before feather) for a band whose first row is global y0."""
    hb, wb = rgb.shape[:2]
    xs = np.arange(wb, dtype=np.float64)[None, :]
    ys = np.arange(y0, y0 + hb, dtype=np.float64)[:, None]
    X, Y = xs + 0.5, ys + 0.5
    acc = np.zeros((hb, wb))
    for shape in mask.shapes:
        if isinstance(shape, LinearGradient):
            v = _linear(shape, X, Y, full_w, full_h)
        elif isinstance(shape, RadialGradient):
            v = _radial(shape, X, Y, full_w, full_h)
        elif isinstance(shape, Brush):
            v = _brush(shape, X, Y, full_w, full_h)
        elif isinstance(shape, LuminosityRange):
            v = _luminosity(shape, rgb)
        elif isinstance(shape, ColorRange):
            v = _color(shape, rgb)
        else:
            v = _bitmap(shape, bitmaps, xs, ys, full_w, full_h)
        v = np.broadcast_to(v, acc.shape)
        v = (1.0 - v if shape.invert else v) * shape.opacity
        if shape.mode == MaskMode.ADD:
            acc = np.maximum(acc, v)
        elif shape.mode == MaskMode.SUBTRACT:
            acc = acc * (1.0 - v)
        else:
            acc = acc * v
    return acc.astype(np.float32)


def weights(
    backend: Backend,
    mask: Mask,
    rgb: np.ndarray,
    y0: int,
    full_w: int,
    full_h: int,
    bitmaps: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Final mask weights for a band (rasterised and feathered on the backend, times the mask's
    opacity)."""
    m = backend.mask_coverage(mask, rgb, y0, full_w, full_h, bitmaps)
    sigma = feather_sigma(mask, full_w, full_h)
    if sigma > 0:
        k = gaussian_kernel(sigma)
        m = backend.convolve(m, k, k)[..., 0]
    return (np.clip(m, 0, 1) * mask.opacity).astype(np.float32)
