"""Local adjustment masks: each shape selects what it says, combinations and modifiers behave,
and a masked adjustment changes only what the mask covers."""

from __future__ import annotations

import numpy as np
import pytest

from kernels.backends.cpu import CpuBackend
from kernels.ops import masks
from kernels.params import (
    BitmapMask,
    Brush,
    BrushStroke,
    ColorRange,
    DevelopSettings,
    LinearGradient,
    LocalAdjustments,
    LuminosityRange,
    Mask,
    RadialGradient,
)
from kernels.render import render

W, H = 80, 60


def _raster(
    *shapes: object, rgb: np.ndarray | None = None, bitmaps: dict[str, np.ndarray] | None = None
) -> np.ndarray:
    mask = Mask(id="m", shapes=list(shapes))
    img = np.full((H, W, 3), 0.18, dtype=np.float32) if rgb is None else rgb
    return masks.rasterise(mask, img, 0, W, H, bitmaps)


# Fully on right of x = 48 px, fully off left of x = 40 px.
RIGHT_SIDE = LinearGradient(x0=0.6, y0=0.5, x1=0.5, y1=0.5)


def test_linear_gradient_is_on_at_its_start_and_off_at_its_end() -> None:
    m = _raster(LinearGradient(x0=0.0, y0=0.5, x1=1.0, y1=0.5))
    assert m[30, 0] > 0.99
    assert m[30, -1] < 0.01
    assert (np.diff(m[30]) <= 0).all()


def test_radial_gradient_inside_outside_and_invert() -> None:
    m = _raster(RadialGradient(cx=0.5, cy=0.5, rx=0.2, ry=0.2, feather=0))
    assert m[30, 40] == 1.0
    assert m[0, 0] == 0.0
    inv = _raster(RadialGradient(cx=0.5, cy=0.5, rx=0.2, ry=0.2, feather=0, invert=True))
    # Exact in float64; the weights are float32 (the one-pixel edge is neither 0 nor 1).
    np.testing.assert_allclose(inv, 1.0 - m, rtol=0, atol=6e-8)


def test_subtract_and_intersect_combine_in_order() -> None:
    circle = RadialGradient(cx=0.75, cy=0.5, rx=0.1, ry=0.1, feather=0)
    sub = _raster(RIGHT_SIDE, circle.model_copy(update={"mode": "subtract"}))
    inter = _raster(RIGHT_SIDE, circle.model_copy(update={"mode": "intersect"}))
    assert sub[30, 60] == 0.0
    assert sub[5, 70] == 1.0
    assert sub[30, 10] == 0.0
    assert inter[30, 60] == 1.0
    assert inter[5, 70] == 0.0


def test_brush_covers_its_stroke_and_erasing_removes_it() -> None:
    paint = BrushStroke(points=[(0.2, 0.5), (0.8, 0.5)], size=0.1, feather=0)
    m = _raster(Brush(strokes=[paint]))
    assert m[30, 40] == 1.0
    assert m[5, 40] == 0.0
    erase = BrushStroke(points=[(0.5, 0.5)], size=0.1, feather=0, erase=True)
    m2 = _raster(Brush(strokes=[paint, erase]))
    assert m2[30, 40] == 0.0
    assert m2[30, 20] == 1.0


def test_luminosity_and_colour_ranges_select_pixels_by_value() -> None:
    img = np.zeros((H, W, 3), dtype=np.float32)
    img[:, :40] = [0.8, 0.05, 0.05]  # bright red
    img[:, 40:] = [0.01, 0.01, 0.05]  # dark blue
    bright = _raster(LuminosityRange(low=0.4, high=1.0, smoothness=0.05), rgb=img)
    assert bright[0, 0] > 0.99
    assert bright[0, -1] == 0.0
    red = _raster(ColorRange(hue=0, hue_range=20, min_saturation=0.3), rgb=img)
    assert red[0, 0] == 1.0
    assert red[0, -1] == 0.0


def test_bitmap_masks_come_from_the_caller_and_missing_ones_are_an_error() -> None:
    bitmap = np.zeros((30, 40), dtype=np.uint8)
    bitmap[:, 20:] = 255
    m = _raster(BitmapMask(asset_id="ai-1"), bitmaps={"ai-1": bitmap})
    assert m[30, 5] == 0.0
    assert m[30, 75] == 1.0
    with pytest.raises(KeyError, match="ai-1"):
        _raster(BitmapMask(asset_id="ai-1"))


def test_a_masked_exposure_changes_only_the_masked_area(cpu: CpuBackend) -> None:
    img = np.full((H, W, 3), 0.1, dtype=np.float32)
    mask = Mask(
        id="right",
        shapes=[RIGHT_SIDE],
        adjustments=LocalAdjustments(exposure=1.0),
    )
    out = render(img, DevelopSettings(masks=[mask]), backend=cpu, output_transform=False)
    np.testing.assert_allclose(out[:, 48:], 0.2, atol=1e-6)
    np.testing.assert_array_equal(out[:, :40], img[:, :40])


def test_mask_feather_and_opacity_soften_the_weights(cpu: CpuBackend) -> None:
    img = np.full((H, W, 3), 0.18, dtype=np.float32)
    hard = Mask(id="a", shapes=[RadialGradient(feather=0)])
    soft = hard.model_copy(update={"feather": 50.0, "opacity": 0.5})
    wh = masks.weights(cpu, hard, img, 0, W, H)
    ws = masks.weights(cpu, soft, img, 0, W, H)
    assert wh.max() == 1.0
    assert ws.max() <= 0.5
    assert np.abs(np.diff(ws, axis=1)).max() < np.abs(np.diff(wh, axis=1)).max()
