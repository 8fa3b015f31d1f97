"""Geometry: lens distortion and lateral CA, straighten, crop and flips as one inverse map
(output pixel -> source position per channel) sampled bicubic, then a Lanczos-3 resize.

Conventions: straightening rotates clockwise about the centre and zooms just enough that no
blank corner shows (Lightroom's "constrain to image"); the crop rectangle is normalised to that
straightened frame; flips apply to the result. The lens model maps corrected to recorded
positions: r_src = r (1 + k1 r^2 + k2 r^4), r in half-diagonals; CA scales red and blue by
1 + ca * 1e-4 about the centre.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from kernels.ops import sampling
from kernels.params import Geometry, Lens

if TYPE_CHECKING:
    from kernels.backends.base import Backend

BAND_ROWS = 256  # output rows per warp call: bounds the temporaries on big images


def is_identity(geom: Geometry, lens: Lens) -> bool:
    return geom.is_identity() and lens.is_identity()


def fill_scale(angle_deg: float, w: int, h: int) -> float:
    a = math.radians(abs(angle_deg))
    c, s = math.cos(a), math.sin(a)
    return max(c + (h / w) * s, c + (w / h) * s)


def output_size(geom: Geometry, w: int, h: int) -> tuple[int, int]:
    crop = geom.crop
    return max(1, round((crop.right - crop.left) * w)), max(1, round((crop.bottom - crop.top) * h))


def warp_params(geom: Geometry, lens: Lens, w: int, h: int) -> np.ndarray:
    ow, oh = output_size(geom, w, h)
    a = math.radians(geom.angle)
    c, s = math.cos(a), math.sin(a)
    half_diag = math.hypot(w, h) / 2
    scale = 1.0 / (fill_scale(geom.angle, w, h) * half_diag)
    # Output pixel X -> straightened-frame offset from the centre: dx = ax X + bx.
    ax = -1.0 if geom.flip_horizontal else 1.0
    ay = -1.0 if geom.flip_vertical else 1.0
    bx = (ow - 1 if geom.flip_horizontal else 0) + geom.crop.left * w + 0.5 - w / 2
    by = (oh - 1 if geom.flip_vertical else 0) + geom.crop.top * h + 0.5 - h / 2
    # Undo the clockwise rotation (y points down), in half-diagonals.
    affine = [
        c * ax * scale,
        s * ay * scale,
        (c * bx + s * by) * scale,
        -s * ax * scale,
        c * ay * scale,
        (-s * bx + c * by) * scale,
    ]
    ca = [1 + lens.ca_red * 1e-4, 1.0, 1 + lens.ca_blue * 1e-4]
    return np.array(
        [*affine, lens.k1, lens.k2, *ca, w / 2 - 0.5, h / 2 - 0.5, half_diag], dtype=np.float32
    )


def snapped(geom: Geometry, w: int, h: int) -> Geometry:
    """`geom` with its crop moved to the whole pixels a w x h image snaps it to (what `apply`
    does when nothing else resamples), as fractions: for a resampled copy of that image, whose
    own rounding would shift the crop by up to half an output pixel."""
    c = geom.crop
    ow, oh = output_size(geom, w, h)
    left, top = round(c.left * w), round(c.top * h)
    crop = c.model_copy(
        update={
            "left": left / w,
            "top": top / h,
            "right": (left + ow) / w,
            "bottom": (top + oh) / h,
        }
    )
    return geom.model_copy(update={"crop": crop})


def apply(
    backend: Backend, img: np.ndarray, geom: Geometry, lens: Lens, *, snap: bool = True
) -> np.ndarray:
    """Lens, straighten, crop and flips. A crop alone snaps to whole pixels and is exact unless
    `snap` is False (then it is resampled at its fractional position, like any warp)."""
    if is_identity(geom, lens):
        return img
    h, w = img.shape[:2]
    ow, oh = output_size(geom, w, h)
    if snap and geom.angle == 0 and lens.is_identity():
        # Nothing resamples: crop edges snap to whole pixels and the result is exact.
        left, top = round(geom.crop.left * w), round(geom.crop.top * h)
        view = img[top : top + oh, left : left + ow]
        view = view[:, ::-1] if geom.flip_horizontal else view
        return np.ascontiguousarray(view[::-1] if geom.flip_vertical else view)
    p = warp_params(geom, lens, w, h)
    out = np.empty((oh, ow, img.shape[2]), dtype=np.float32)
    for y0 in range(0, oh, BAND_ROWS):
        y1 = min(oh, y0 + BAND_ROWS)
        out[y0:y1] = backend.warp(img, p, y1 - y0, ow, y0)
    return out


def target_size(size: int | tuple[int, int] | None, w: int, h: int) -> tuple[int, int]:
    """(width, height) for `size`: a long edge in pixels, an exact (width, height), or None."""
    if size is None:
        return w, h
    if isinstance(size, tuple):
        return max(1, int(size[0])), max(1, int(size[1]))
    if size <= 0:
        raise ValueError("size must be positive")
    k = size / max(w, h)
    return max(1, round(w * k)), max(1, round(h * k))


def resize(backend: Backend, img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Lanczos-3, antialiased when shrinking. Rows are resampled first: that pass streams whole
    rows (vectorised) while the column pass gathers per pixel, so it should see the smaller
    image. Pillow goes the other way round; the results differ only by float rounding."""
    out = img
    if height != img.shape[0]:
        out = backend.resize_axis(out, height, 0)
    if width != img.shape[1]:
        out = backend.resize_axis(out, width, 1)
    return out


__all__ = ["apply", "output_size", "resize", "sampling", "target_size", "warp_params"]
