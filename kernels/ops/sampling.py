"""Resampling maths shared by the references and the host code: Lanczos-3 weights (Pillow's
window, so the outside reference agrees), Catmull-Rom bicubic sampling and the geometry warp's
coordinate map (mirrored in kernels/cuda/warp.cu)."""

from __future__ import annotations

import functools

import numpy as np

LANCZOS_SUPPORT = 3.0


def lanczos3(x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    return np.where(x < LANCZOS_SUPPORT, np.sinc(x) * np.sinc(x / LANCZOS_SUPPORT), 0.0)


@functools.lru_cache(maxsize=64)
def lanczos_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """(start index per output sample (int32), weights (n_out, taps) float32), read-only and
    cached (a render resizes the same sizes per band; the construction costs ~10 us a sample).

    Pillow's construction: centre (i + 0.5) * scale, support 3 * max(scale, 1) (the kernel
    stretches when shrinking, which is the antialiasing), window truncated at the borders and
    the weights renormalised."""
    scale = n_in / n_out
    filterscale = max(scale, 1.0)
    support = LANCZOS_SUPPORT * filterscale
    taps = int(np.ceil(support)) * 2 + 1
    centre = (np.arange(n_out) + 0.5) * scale
    # int() truncates toward zero, as Pillow's C does; then clipped to the image.
    lo = np.maximum(np.trunc(centre - support + 0.5), 0).astype(np.int64)
    hi = np.minimum(np.trunc(centre + support + 0.5), n_in).astype(np.int64)
    x = lo[:, None] + np.arange(taps)
    inside = x < hi[:, None]
    w = np.where(inside, lanczos3((x - centre[:, None] + 0.5) / filterscale), 0.0)
    total = w.sum(axis=1, keepdims=True)
    weights = np.divide(w, total, out=w.copy(), where=total != 0).astype(np.float32)
    starts = lo.astype(np.int32)
    starts.setflags(write=False)
    weights.setflags(write=False)
    return starts, weights


def catmull_rom(t: np.ndarray) -> tuple[np.ndarray, ...]:
    """The four Catmull-Rom (Keys a = -0.5) weights for fractional offset t."""
    t2, t3 = t * t, t * t * t
    return (
        -0.5 * t3 + t2 - 0.5 * t,
        1.5 * t3 - 2.5 * t2 + 1.0,
        -1.5 * t3 + 2.0 * t2 + 0.5 * t,
        0.5 * t3 - 0.5 * t2,
    )


def bicubic(plane: np.ndarray, sx: np.ndarray, sy: np.ndarray) -> np.ndarray:
    """Sample an HxW plane at (sx, sy) (pixel centres at integers), clamped to the edge."""
    h, w = plane.shape
    sx = np.clip(sx, 0.0, w - 1.0)
    sy = np.clip(sy, 0.0, h - 1.0)
    ix, iy = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
    wx, wy = catmull_rom(sx - ix), catmull_rom(sy - iy)
    out = np.zeros(np.broadcast(sx, sy).shape, dtype=np.float64)
    for j in range(4):
        yy = np.clip(iy + j - 1, 0, h - 1)
        for i in range(4):
            xx = np.clip(ix + i - 1, 0, w - 1)
            out += wy[j] * wx[i] * plane[yy, xx]
    return out


def warp_coords(
    p: np.ndarray, xs: np.ndarray, ys: np.ndarray, channel: int
) -> tuple[np.ndarray, np.ndarray]:
    """Source position of output pixels (xs, ys) for one channel.

    p: affine a00 a01 a02 a10 a11 a12 (output pixel -> undistorted position relative to the
    centre in half-diagonals), k1, k2, CA scale for R G B, centre cx cy, half diagonal."""
    p = p.astype(np.float64)
    u = p[0] * xs + p[1] * ys + p[2]
    v = p[3] * xs + p[4] * ys + p[5]
    r2 = u * u + v * v
    f = (1.0 + p[6] * r2 + p[7] * r2 * r2) * p[8 + channel]
    return p[11] + u * f * p[13], p[12] + v * f * p[13]
