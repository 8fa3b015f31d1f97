"""The CPU backend rasterises masks as the NumPy reference does (kernels/cuda/mask.cu from the
program of kernels/ops/mask_program.py), band by band, brushes included."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernels.backends.cpu import CpuBackend
from kernels.ops import mask_program, masks
from kernels.params import (
    BitmapMask,
    Brush,
    BrushStroke,
    ColorRange,
    LinearGradient,
    LuminosityRange,
    Mask,
    RadialGradient,
)
from tests.kernels.ops.tolerances import MASK_ATOL

# Wider than the host's 512-pixel chunks and brush tiles, taller than a tile row: a band of a
# larger image, so that positions are global.
W, H, Y0, ROWS = 1100, 700, 230, 70
BITMAP = (np.random.default_rng(5).random((45, 70)) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def band(photo: np.ndarray) -> np.ndarray:
    """ROWS x W of a real photograph (stretched), with its scene-referred extremes."""
    idx_y = np.linspace(0, photo.shape[0] - 1, ROWS).astype(int)
    idx_x = np.linspace(0, photo.shape[1] - 1, W).astype(int)
    return np.ascontiguousarray(photo[idx_y][:, idx_x])


unit = st.floats(0, 1)
place = st.floats(-0.2, 1.2)
common = {
    "invert": st.booleans(),
    "opacity": unit,
    "mode": st.sampled_from(["add", "subtract", "intersect"]),
}
strokes = st.builds(
    BrushStroke,
    points=st.lists(st.tuples(place, place), min_size=1, max_size=12),
    size=st.floats(0.002, 0.3),
    feather=st.floats(0, 100),
    flow=unit,
    erase=st.booleans(),
)
shapes = st.one_of(
    st.builds(LinearGradient, x0=place, y0=place, x1=place, y1=place, **common),
    st.builds(
        RadialGradient,
        cx=place,
        cy=place,
        rx=st.floats(0.01, 1),
        ry=st.floats(0.01, 1),
        angle=st.floats(-180, 180),
        feather=st.floats(0, 100),
        **common,
    ),
    st.builds(Brush, strokes=st.lists(strokes, max_size=5), **common),
    st.builds(LuminosityRange, low=unit, high=unit, smoothness=unit, **common),
    st.builds(
        ColorRange,
        hue=st.floats(0, 360),
        hue_range=st.floats(1, 180),
        min_saturation=unit,
        smoothness=unit,
        **common,
    ),
    st.builds(BitmapMask, asset_id=st.just("ai"), **common),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(mask_shapes=st.lists(shapes, min_size=1, max_size=5))
def test_random_mask_sets_rasterise_as_the_reference(
    mask_shapes: list[object], cpu: CpuBackend, band: np.ndarray
) -> None:
    # The first shape adds (subtracting from or intersecting with nothing leaves nothing).
    first = mask_shapes[0].model_copy(update={"mode": "add"})  # type: ignore[attr-defined]
    mask = Mask(id="m", shapes=[first, *mask_shapes[1:]])
    expected = masks.rasterise(mask, band, Y0, W, H, {"ai": BITMAP})
    got = cpu.mask_coverage(mask, band, Y0, W, H, {"ai": BITMAP})
    np.testing.assert_allclose(got, expected, rtol=0, atol=MASK_ATOL)


def test_a_thousand_dab_stroke_matches_and_visits_only_the_tiles_it_reaches(
    cpu: CpuBackend, band: np.ndarray
) -> None:
    t = np.linspace(0, 1, 1000)
    path = [(0.1 + 0.8 * a, 0.4 + 0.05 * np.sin(12 * a)) for a in t]
    brush = Brush(strokes=[BrushStroke(points=path, size=0.02, feather=40)])
    mask = Mask(id="m", shapes=[brush])
    expected = masks.rasterise(mask, band, Y0, W, H)
    assert expected.max() == 1.0, "the stroke crosses the band"
    np.testing.assert_allclose(cpu.mask_coverage(mask, band, Y0, W, H), expected, atol=MASK_ATOL)
    program, _ = mask_program.pack(mask, W, H, Y0, ROWS)
    # 999 segments (8 floats each), 5 tile rows x 3 tile columns: the lists hold each segment
    # for the one to three tiles its capsule reaches (~1.9 on average), not for all fifteen.
    assert len(program) < 999 * 8 + 999 * 3


def test_a_brush_past_the_list_bound_uses_larger_tiles_and_the_same_result(
    cpu: CpuBackend, band: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    paint = BrushStroke(points=[(0.0, 0.3), (1.0, 0.4), (0.2, 0.45)], size=0.2, feather=60)
    erase = BrushStroke(points=[(0.5, 0.36)], size=0.1, feather=20, erase=True, flow=0.7)
    mask = Mask(id="m", shapes=[Brush(strokes=[paint, erase])])
    fine = cpu.mask_coverage(mask, band, Y0, W, H)
    monkeypatch.setattr(mask_program, "MAX_TILE_ITEMS", 2)
    coarse = cpu.mask_coverage(mask, band, Y0, W, H)
    np.testing.assert_array_equal(coarse, fine)
    np.testing.assert_allclose(fine, masks.rasterise(mask, band, Y0, W, H), atol=MASK_ATOL)


def test_a_band_rasterises_the_rows_of_the_whole(cpu: CpuBackend, band: np.ndarray) -> None:
    # Banded renders equal unbanded ones bit for bit: a pixel's coverage cannot depend on the
    # band (its tile lists differ, the segments reaching it do not).
    mask = Mask(
        id="m",
        shapes=[
            Brush(strokes=[BrushStroke(points=[(0.1, 0.3), (0.9, 0.4)], size=0.05)]),
            RadialGradient(cx=0.5, cy=0.37, rx=0.3, ry=0.05, mode="intersect", invert=True),
            LuminosityRange(low=0.2, high=0.9),
        ],
    )
    whole = cpu.mask_coverage(mask, band, Y0, W, H)
    part = cpu.mask_coverage(mask, band[17:50], Y0 + 17, W, H)
    np.testing.assert_array_equal(part, whole[17:50])
