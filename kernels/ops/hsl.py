"""HSL colour mixer: eight hue bands whose weights are smoothstep hats between neighbouring
centres, so they sum to one and have no hard edges. Shifts are scaled by the pixel's HSV
saturation (greys stay grey). Hue +-100 = +-30 degrees, saturation +-100 = x0..x2 chroma,
luminance +-100 = +-1 stop.

The kernel reads one row per half sextant (30 degrees: every centre is a multiple of it), the
segment between the centres around it with hue quantities in sextants (`kernel_rows`), so a
pixel's row is its hue * 2 / 60 rounded down, looked up without a search.

A vibrance / saturation stage right after the mixer is merged into its kernel
(`with_saturation`): the mixer's result gives that stage's luminance, max and min directly.
The parameters end with its vibrance / 100 and saturation / 100 (0, 0 when there is none)."""

from __future__ import annotations

import numpy as np

from kernels.ops import color_grading
from kernels.ops.stage import PixelStage, luma
from kernels.params import HSL, HSL_BANDS

# Ascending from 0, each a multiple of ROW_DEG: a hue's segment starts at the last centre at or
# below it, the same for every hue of a half sextant.
CENTRES = np.array([0.0, 30.0, 60.0, 120.0, 180.0, 240.0, 270.0, 300.0])
HUE_RANGE_DEG = 30.0
ROW_DEG = 30.0
ROWS = 12
SEXTANT_DEG = 60.0
# The kernel's hue quantities are in sextants: start, 1 / width, hue shift (start, delta).
_TO_SEXTANTS = np.array(
    [1 / SEXTANT_DEG, SEXTANT_DEG, 1 / SEXTANT_DEG, 1 / SEXTANT_DEG, 1, 1, 1, 1]
)
# The row at each centre: its segment's start.
_CENTRE_ROWS = (CENTRES / ROW_DEG).astype(np.int64)


def band_table(hsl: HSL) -> np.ndarray:
    """(8, 6): centre, 1 / width to the previous band, 1 / width to the next, dh, ds, dl
    (reciprocals: the kernel multiplies instead of dividing eight times a pixel)."""
    rows = []
    for i, name in enumerate(HSL_BANDS):
        band = getattr(hsl, name)
        prev = (CENTRES[i] - CENTRES[i - 1]) % 360
        nxt = (CENTRES[(i + 1) % 8] - CENTRES[i]) % 360
        rows.append(
            [
                CENTRES[i],
                1.0 / prev,
                1.0 / nxt,
                band.hue / 100 * HUE_RANGE_DEG,
                band.saturation / 100,
                band.luminance / 100,
            ]
        )
    return np.array(rows, dtype=np.float32)


def segment_table(hsl: HSL) -> np.ndarray:
    """(8, 8), the kernel's parameters: for the segment from each centre to the next, start,
    1 / width, then dh, ds, dl as (start band's value, next band's minus it). Between two
    centres only those two bands have weight (1 - S(t) and S(t)), so the kernel interpolates
    one pair instead of weighing all eight bands."""
    bands = band_table(hsl).astype(np.float64)
    nxt = np.roll(bands, -1, axis=0)
    values = np.stack([bands[:, 3:], nxt[:, 3:] - bands[:, 3:]], axis=-1).reshape(8, 6)
    return np.column_stack([bands[:, 0], bands[:, 2], values]).astype(np.float32)


def kernel_rows(seg: np.ndarray) -> np.ndarray:
    """(12, 8) float32: for each half sextant, its segment's row of `segment_table` with hue
    quantities in sextants (what the kernel reads)."""
    segment_of_row = np.searchsorted(CENTRES, np.arange(ROWS) * ROW_DEG, side="right") - 1
    return (seg.astype(np.float64)[segment_of_row] * _TO_SEXTANTS).astype(np.float32)


def segments_from_rows(rows: np.ndarray) -> np.ndarray:
    """The segment table (degrees) back from the kernel's rows."""
    return rows.astype(np.float64)[_CENTRE_ROWS] / _TO_SEXTANTS


def bands_from_segments(seg: np.ndarray) -> np.ndarray:
    """The band table (centre, 1/prev, 1/next, dh, ds, dl) back from the kernel's segments."""
    return np.column_stack([seg[:, 0], np.roll(seg[:, 1], 1), seg[:, 1], seg[:, 2:7:2]])


def band_weights(hue: np.ndarray, table: np.ndarray) -> np.ndarray:
    """(..., 8) weights of each band at `hue` degrees."""
    d = (hue[..., None] - table[:, 0] + 180.0) % 360.0 - 180.0
    d = np.where(d == -180.0, 180.0, d)
    t = np.minimum(np.where(d >= 0, d * table[:, 2], -d * table[:, 1]), 1.0)
    return 1.0 - t * t * (3.0 - 2.0 * t)


MIXER_FLOATS = ROWS * 8  # the kernel's rows; then vibrance and saturation


def reference(rgb: np.ndarray, p: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    mixed = mixer_reference(rgb, p[:MIXER_FLOATS])
    after = p[MIXER_FLOATS:]
    if not after.any():
        return mixed
    return color_grading.saturation_reference(mixed, after, xs, ys)


def mixer_reference(rgb: np.ndarray, p: np.ndarray) -> np.ndarray:
    table = bands_from_segments(segments_from_rows(p.reshape(ROWS, 8)))
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    mx = np.maximum(r, np.maximum(g, b))
    mn = np.minimum(r, np.minimum(g, b))
    c = mx - mn
    active = (mx > 1e-8) & (c > 1e-7 * mx)
    cs = np.where(active, c, 1.0)
    h6 = np.where(mx == r, (g - b) / cs, np.where(mx == g, (b - r) / cs + 2.0, (r - g) / cs + 4.0))
    hue = np.mod(h6, 6.0) * 60.0
    sat = np.clip(c / np.where(active, mx, 1.0), 0.0, 1.0)
    w = band_weights(hue, table)
    dh, ds, dl = w @ table[:, 3], w @ table[:, 4], w @ table[:, 5]
    h62 = np.mod(hue + dh * sat, 360.0) / 60.0

    def channel(n: float) -> np.ndarray:
        k = np.mod(n + h62, 6.0)
        return mx - c * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)

    out = np.stack([channel(5.0), channel(3.0), channel(1.0)], axis=-1)
    y = luma(out.astype(np.float32)).astype(np.float64)[..., None]
    out = (y + (out - y) * (1.0 + ds * sat)[..., None]) * np.exp2(dl * sat)[..., None]
    return np.where(active[..., None], out, rgb).astype(np.float32)


def stage(hsl: HSL) -> PixelStage | None:
    if hsl.is_identity():
        return None
    rows = kernel_rows(segment_table(hsl))
    params = np.concatenate([rows.ravel(), np.zeros(2, dtype=np.float32)])
    return PixelStage("hsl", params, reference)


def with_saturation(mixer: PixelStage, saturation: PixelStage) -> PixelStage:
    """The mixer followed by a vibrance / saturation stage, as one stage (one kernel)."""
    if mixer.kernel != "hsl" or saturation.kernel != "saturation":
        raise ValueError("expects an hsl stage and a saturation stage")
    params = np.concatenate([mixer.params[:MIXER_FLOATS], saturation.params])
    return PixelStage("hsl", params.astype(np.float32), reference)


def merge_saturation(stages: list[PixelStage]) -> list[PixelStage]:
    """`stages` with each mixer that a saturation stage immediately follows merged with it."""
    out: list[PixelStage] = []
    for s in stages:
        if out and s.kernel == "saturation" and out[-1].kernel == "hsl":
            out[-1] = with_saturation(out[-1], s)
        else:
            out.append(s)
    return out
