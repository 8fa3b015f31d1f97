"""A mask packed for the backends' rasteriser (kernels/cuda/mask.cu): one float32 array with
integer fields stored as their bits, plus the bitmaps it samples. The layout is documented in
mask.cu; `masks.rasterise` is the reference the packed program must reproduce.

Brush strokes become capsule segments listed per tile (tile_rows x tile_cols pixels) in stroke
order, so a pixel only visits the segments that can reach it: the work grows with the area the
strokes cover, not with strokes x pixels. The lists are bounded (MAX_TILE_ITEMS): past that the
tiles grow, down to one tile per band, where the list is every segment once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from kernels.ops import masks
from kernels.params import (
    BitmapMask,
    Brush,
    ColorRange,
    LinearGradient,
    LuminosityRange,
    Mask,
    MaskMode,
    RadialGradient,
)

KINDS = {
    LinearGradient: 0,
    RadialGradient: 1,
    Brush: 2,
    LuminosityRange: 3,
    ColorRange: 4,
    BitmapMask: 5,
}
MODES = {MaskMode.ADD: 0, MaskMode.SUBTRACT: 1, MaskMode.INTERSECT: 2}
TILE_ROWS = 16
MAX_TILE_ITEMS = 1 << 22
HEAD = ("kind", "mode", "invert", "opacity")
# After the head: segment count, offsets of the segments, strokes, list starts and lists, tile
# rows and columns, tiles across, first tile row (mask.cu: MASK_BRUSH_*).
BRUSH_FIELDS = 9


# Fields are built as float32 arrays, integers through their bits (never through a Python float,
# which would not keep every bit pattern).


def _ints(*v: int | np.ndarray) -> np.ndarray:
    """Integer fields: their bits as float32 (k_int in mask.cu)."""
    return (
        np.hstack([np.asarray(x, dtype=np.int64).ravel() for x in v])
        .astype(np.int32)
        .view(np.float32)
    )


def _floats(*v: float | np.ndarray) -> np.ndarray:
    return np.hstack([np.asarray(x, dtype=np.float64).ravel() for x in v]).astype(np.float32)


def _origin(ox: float, oy: float) -> np.ndarray:
    """An origin in pixels as (integer x, integer y, fraction x, fraction y)."""
    ix, iy = math.floor(ox), math.floor(oy)
    return np.concatenate([_ints(ix, iy), _floats(ox - ix, oy - iy)])


def _linear(s: LinearGradient, w: int, h: int) -> np.ndarray:
    dx, dy = (s.x1 - s.x0) * w, (s.y1 - s.y0) * h
    length2 = dx * dx + dy * dy
    ux, uy = (0.0, 0.0) if length2 < 1e-12 else (dx / length2, dy / length2)
    return np.concatenate([_origin(s.x0 * w, s.y0 * h), _floats(ux, uy)])


def _radial(s: RadialGradient, w: int, h: int) -> np.ndarray:
    a = math.radians(s.angle)
    ca, sa = math.cos(a), math.sin(a)
    rx, ry = s.rx * w, s.ry * h
    e0 = masks.radial_edge(s, w, h)
    rotation = _floats(ca / rx, sa / rx, -sa / ry, ca / ry, e0, 1 / (1 - e0))
    return np.concatenate([_origin(s.cx * w, s.cy * h), rotation])


def _luminosity(s: LuminosityRange) -> np.ndarray:
    soft = masks.luminosity_softness(s)
    return _floats(s.low - soft, s.high, 1 / soft)


def _color(s: ColorRange) -> np.ndarray:
    hue_edge, sat_edge = masks.color_edges(s)
    hue_width, sat_width = s.hue_range - hue_edge, s.min_saturation - sat_edge
    return _floats(s.hue, hue_edge, 1 / hue_width, sat_edge, 1 / sat_width)


def _bitmap(
    s: BitmapMask, w: int, h: int, bitmaps: Mapping[str, np.ndarray] | None, out: list[np.ndarray]
) -> np.ndarray:
    if bitmaps is None or s.asset_id not in bitmaps:
        raise KeyError(f"bitmap mask {s.asset_id!r} was not supplied in `bitmaps`")
    bm = np.asarray(bitmaps[s.asset_id])
    bm = bm.astype(np.float32) / 255.0 if bm.dtype == np.uint8 else bm.astype(np.float32)
    bm = np.ascontiguousarray(bm[..., 0] if bm.ndim == 3 else bm)
    out.append(bm)
    bh, bw = bm.shape
    return np.concatenate([_ints(len(out) - 1, bh, bw), _floats(w / bw, h / bh)])


def _segments(s: Brush, w: int, h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, 4) float64 segment ends a, b in pixels, (n,) stroke index, (strokes, 5) stroke table."""
    long_edge = max(w, h)
    ends, owner, table = [], [], []
    for k, stroke in enumerate(s.strokes):
        radius, inner = masks.stroke_radii(stroke, long_edge)
        table.append([radius, inner, 1 / (radius - inner), stroke.flow, float(stroke.erase)])
        pts = np.array(stroke.points, dtype=np.float64) * [w, h]
        a, b = (pts[:-1], pts[1:]) if len(pts) > 1 else (pts, pts)
        ends.append(np.hstack([a, b]))
        owner.append(np.full(len(a), k))
    if not ends:
        return np.zeros((0, 4)), np.zeros(0, dtype=np.int64), np.zeros((0, 5))
    return np.vstack(ends), np.concatenate(owner), np.array(table)


def _segment_table(ends: np.ndarray, owner: np.ndarray) -> np.ndarray:
    ax, ay = ends[:, 0], ends[:, 1]
    dx, dy = ends[:, 2] - ax, ends[:, 3] - ay
    length2 = dx * dx + dy * dy
    # Shorter than 1e-6 px: a dab at a (within that of the segment's distance, no overflow).
    inv = np.divide(1.0, length2, out=np.zeros_like(length2), where=length2 > 1e-12)
    ix, iy = np.floor(ax), np.floor(ay)
    table = np.zeros((len(ends), 8), dtype=np.float32)
    table[:, 0], table[:, 1], table[:, 7] = _ints(ix), _ints(iy), _ints(owner)
    table[:, 2], table[:, 3], table[:, 4], table[:, 5], table[:, 6] = ax - ix, ay - iy, dx, dy, inv
    return table


def _tile_lists(
    ends: np.ndarray, radius: np.ndarray, y0: int, rows: int, w: int, tile_h: int, tile_w: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Per tile of the band, the segments whose capsule reaches it: (list starts, items,
    tiles across). Pixel x is reached when its centre x + 0.5 is within the capsule's box."""
    x_lo = np.floor(np.minimum(ends[:, 0], ends[:, 2]) - radius - 0.5)
    x_hi = np.ceil(np.maximum(ends[:, 0], ends[:, 2]) + radius - 0.5)
    y_lo = np.floor(np.minimum(ends[:, 1], ends[:, 3]) - radius - 0.5)
    y_hi = np.ceil(np.maximum(ends[:, 1], ends[:, 3]) + radius - 0.5)
    tiles_x = max(1, -(-w // tile_w))
    first, last = y0 // tile_h, (y0 + rows - 1) // tile_h
    tx0 = np.clip(x_lo // tile_w, 0, tiles_x - 1).astype(np.int64)
    tx1 = np.clip(x_hi // tile_w, 0, tiles_x - 1).astype(np.int64)
    ty0 = np.clip(np.maximum(y_lo, y0) // tile_h, first, last).astype(np.int64)
    ty1 = np.clip(np.minimum(y_hi, y0 + rows - 1) // tile_h, first, last).astype(np.int64)
    reach = (x_hi >= 0) & (x_lo < w) & (y_hi >= y0) & (y_lo < y0 + rows)
    nx, ny = np.where(reach, tx1 - tx0 + 1, 0), np.where(reach, ty1 - ty0 + 1, 0)
    counts = nx * ny
    seg = np.repeat(np.arange(len(ends)), counts)
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    nxr = np.repeat(nx, counts)
    tile = (np.repeat(ty0, counts) + k // np.maximum(nxr, 1) - first) * tiles_x + (
        np.repeat(tx0, counts) + k % np.maximum(nxr, 1)
    )
    order = np.argsort(tile, kind="stable")  # segments stay in stroke order within a tile
    n_tiles = (last - first + 1) * tiles_x
    starts = np.concatenate([[0], np.cumsum(np.bincount(tile, minlength=n_tiles))])
    return starts, seg[order], tiles_x


def _brush(s: Brush, w: int, h: int, y0: int, rows: int, tile_w: int) -> np.ndarray:
    ends, owner, strokes = _segments(s, w, h)
    radius = strokes[owner, 0] if len(owner) else np.zeros(0)
    tile_h = TILE_ROWS
    while True:
        starts, items, tiles_x = _tile_lists(ends, radius, y0, rows, w, tile_h, tile_w)
        if len(items) <= MAX_TILE_ITEMS or (tile_h >= rows and tiles_x == 1):
            break
        if tile_h < rows:
            tile_h *= 4
        else:
            tile_w *= 4
    segments = _segment_table(ends, owner).ravel()
    # Offsets from the block's start: the head, these fields, then the four tables.
    offsets = np.cumsum([len(HEAD) + BRUSH_FIELDS, len(segments), strokes.size, len(starts)])
    fields = _ints(len(ends), offsets, tile_h, tile_w, tiles_x, y0 // tile_h)
    assert len(fields) == BRUSH_FIELDS
    return np.concatenate([fields, segments, _floats(strokes), _ints(starts), _ints(items)])


def pack(
    mask: Mask,
    w: int,
    h: int,
    y0: int,
    rows: int,
    bitmaps: Mapping[str, np.ndarray] | None = None,
    tile_w: int = 512,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The program for rows y0 .. y0 + rows of a w x h image, and the bitmaps it samples.
    tile_w: the brush tiles' width, a multiple of the host rasteriser's chunk."""
    blocks: list[np.ndarray] = []
    used: list[np.ndarray] = []
    for shape in mask.shapes:
        head = np.concatenate(
            [_ints(KINDS[type(shape)], MODES[shape.mode]), _floats(shape.invert, shape.opacity)]
        )
        if isinstance(shape, LinearGradient):
            body = _linear(shape, w, h)
        elif isinstance(shape, RadialGradient):
            body = _radial(shape, w, h)
        elif isinstance(shape, Brush):
            body = _brush(shape, w, h, y0, rows, tile_w)
        elif isinstance(shape, LuminosityRange):
            body = _luminosity(shape)
        elif isinstance(shape, ColorRange):
            body = _color(shape)
        else:
            body = _bitmap(shape, w, h, bitmaps, used)
        blocks.append(np.concatenate([head, body]))
    starts = np.cumsum([1 + len(blocks)] + [len(b) for b in blocks[:-1]])
    return np.concatenate([_ints(len(blocks), starts[: len(blocks)]), *blocks]), used
