"""Properties the per-pixel operations promise, checked on both backends."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.backends.base import Backend
from kernels.ops import color_grading, hsl, light, output_transform, tone_curve, white_balance
from kernels.ops.stage import bits_grid, bits_index, luma, safe_pow
from kernels.params import HSL, HSLBand, Presence, ToneCurve, WhiteBalance

BACKENDS = ["cpu", "ref"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.getfixturevalue(request.param)


def test_plus_one_ev_doubles_linear_values(backend: Backend, photo: np.ndarray) -> None:
    stage = light.exposure_stage(1.0)
    assert stage is not None
    np.testing.assert_array_equal(backend.pixel_stages(photo, [stage]), photo * 2)


def test_saturation_minus_100_gives_grey_of_the_same_luminance(
    backend: Backend, photo: np.ndarray
) -> None:
    stage = color_grading.saturation_stage(Presence(saturation=-100))
    assert stage is not None
    out = backend.pixel_stages(photo, [stage])
    np.testing.assert_array_equal(out[..., 0], out[..., 1])
    np.testing.assert_array_equal(out[..., 1], out[..., 2])
    np.testing.assert_allclose(out[..., 0], luma(photo), atol=1e-6)


def test_white_balance_at_d65_is_the_identity_matrix() -> None:
    m = white_balance.adaptation_matrix(WhiteBalance(temperature=6504))
    np.testing.assert_allclose(m, np.eye(3), atol=1e-9)


def test_warmer_temperature_setting_warms_a_grey(backend: Backend) -> None:
    grey = np.full((2, 2, 3), 0.18, dtype=np.float32)
    warm = white_balance.stage(WhiteBalance(temperature=9000))
    cool = white_balance.stage(WhiteBalance(temperature=3500))
    assert warm is not None
    assert cool is not None
    w = backend.pixel_stages(grey, [warm])[0, 0]
    c = backend.pixel_stages(grey, [cool])[0, 0]
    assert w[0] > w[2]
    assert c[2] > c[0]


def test_positive_tint_adds_magenta(backend: Backend) -> None:
    grey = np.full((2, 2, 3), 0.18, dtype=np.float32)
    stage = white_balance.stage(WhiteBalance(tint=60))
    assert stage is not None
    out = backend.pixel_stages(grey, [stage])[0, 0]
    assert out[1] < out[0]
    assert out[1] < out[2]


monotone_points = st.lists(
    st.tuples(st.floats(0.01, 0.99), st.floats(0, 1)),
    min_size=2,
    max_size=8,
    unique_by=lambda p: p[0],
).map(lambda pts: sorted(pts))


@settings(max_examples=25, deadline=None)
@given(points=monotone_points, region=st.floats(-100, 100))
def test_curves_with_increasing_points_are_monotone(
    points: list[tuple[float, float]], region: float
) -> None:
    ys = np.maximum.accumulate([y for _, y in points])
    curve = ToneCurve(
        luma=[(x, float(y)) for (x, _), y in zip(points, ys, strict=True)], darks=region
    )
    lut = tone_curve.bake(curve)
    assert (np.diff(lut, axis=1) >= -1e-7).all()


def test_tone_curve_output_is_monotone_in_the_input(backend: Backend) -> None:
    ramp = np.repeat(np.linspace(-0.1, 2.0, 512, dtype=np.float32)[None, :, None], 3, axis=2)
    stage = tone_curve.stage(
        ToneCurve(luma=[(0, 0.05), (0.3, 0.2), (0.7, 0.85), (1, 1)], lights=40)
    )
    assert stage is not None
    out = backend.pixel_stages(ramp, [stage])[0]
    assert (np.diff(out, axis=0) >= 0).all()


# Linear ramp from below the tables' first entry to above 1, log-spaced like the tables.
LINEAR_RAMP = np.geomspace(1e-7, 4.0, 4001).astype(np.float32)


def test_tone_curve_applies_the_encoded_domain_curve_to_linear_values(backend: Backend) -> None:
    # The curve is defined on gamma-2.2 encoded values: output = curve(v^(1/2.2))^2.2, the end
    # gain continuing above 1. The tables sample it in linear light; this is what they must give.
    curve = ToneCurve(
        luma=[(0, 0.05), (0.3, 0.2), (0.7, 0.85), (1, 1)], lights=40, blue=[(0, 0.1), (1, 0.95)]
    )
    stage = tone_curve.stage(curve)
    assert stage is not None
    v = LINEAR_RAMP.astype(np.float64)[v_ok := LINEAR_RAMP >= tone_curve.FIRST_LINEAR]
    encoded = safe_pow(np.minimum(v, 1.0), 1 / 2.2)
    expected = safe_pow(tone_curve.bake(curve, encoded), 2.2).T * np.maximum(v, 1.0)[:, None]
    ramp = np.repeat(LINEAR_RAMP[None, :, None], 3, axis=2)
    got = backend.pixel_stages(ramp, [stage])[0][v_ok].astype(np.float64)
    # Compared encoded, where the curve is drawn: 1e-5 is below one 16-bit code.
    np.testing.assert_allclose(safe_pow(got, 1 / 2.2), safe_pow(expected, 1 / 2.2), atol=1e-5)


def test_tone_curve_below_its_table_scales_down_to_zero(backend: Backend) -> None:
    # Below 2^-20 the gain at 2^-20 continues: continuous there, and 0 stays 0.
    stage = tone_curve.stage(ToneCurve(luma=[(0, 0.05), (1, 1)]))
    assert stage is not None
    lo = tone_curve.FIRST_LINEAR
    px = np.array([[[0, 0, 0], [lo / 4] * 3, [lo] * 3]], dtype=np.float32)
    out = backend.pixel_stages(px, [stage])[0, :, 0]
    assert out[0] == 0
    assert out[1] == pytest.approx(out[2] / 4, rel=1e-6)


def test_light_gain_table_gives_the_tone_function_of_luminance(backend: Backend) -> None:
    sliders = np.array([35, -60, 70, 25, -40]) / 100
    stage = light.tone_stage(*(sliders * 100))
    assert stage is not None
    grey = LINEAR_RAMP[LINEAR_RAMP > 1e-6]
    got = backend.pixel_stages(np.repeat(grey[None, :, None], 3, axis=2), [stage])[0, :, 1]
    expected = grey * light.tone_gain(sliders, np.log2(grey.astype(np.float64) / 0.18))
    np.testing.assert_allclose(got, expected, rtol=2e-5)


def test_bits_index_finds_each_grid_point_and_the_fraction_between() -> None:
    grid = bits_grid(2.0**-3, 2)
    assert len(grid) == 257
    assert grid[0] == 0.125
    assert grid[-1] == 0.5
    i, f = bits_index(grid[:-1], 0.125)
    np.testing.assert_array_equal(i, np.arange(256))
    np.testing.assert_array_equal(f, 0.0)
    mid = ((grid[:-1].astype(np.float64) + grid[1:]) / 2).astype(np.float32)
    i, f = bits_index(mid, 0.125)
    np.testing.assert_array_equal(i, np.arange(256))
    np.testing.assert_allclose(f, 0.5, atol=1e-6)


def test_hsl_band_weights_sum_to_one_and_change_smoothly() -> None:
    table = hsl.band_table(HSL())
    hues = np.linspace(0, 360, 3601)
    w = hsl.band_weights(hues, table)
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, atol=1e-12)
    assert np.abs(np.diff(w, axis=0)).max() < 0.01  # no hard edge between neighbouring bands


def test_hsl_kernel_rows_by_half_sextant_give_the_eight_band_weighted_sum() -> None:
    # The kernel reads one segment (two bands) per pixel, the reference weighs all eight: the
    # row at hue * 2 / 60 rounded down, hue quantities in sextants.
    mixer = HSL(
        red=HSLBand(hue=40, saturation=-20, luminance=10),
        yellow=HSLBand(hue=-60, saturation=80),
        purple=HSLBand(luminance=-70),
        magenta=HSLBand(hue=100, saturation=-100, luminance=100),
    )
    rows = hsl.kernel_rows(hsl.segment_table(mixer)).astype(np.float64)
    h6 = np.linspace(0, 6, 7201)
    r = np.minimum(np.floor(h6 * 2), 11).astype(int)
    t = np.minimum((h6 - rows[r, 0]) * rows[r, 1], 1.0)
    s = t * t * (3 - 2 * t)
    got = rows[r, 2:7:2] + rows[r, 3:8:2] * s[:, None]
    got[:, 0] *= 60  # hue shift back to degrees
    table = hsl.band_table(mixer).astype(np.float64)
    expected = hsl.band_weights(h6 * 60, table) @ table[:, 3:]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_hsl_leaves_greys_alone_and_moves_only_its_band(backend: Backend) -> None:
    px = np.array([[[0.3, 0.3, 0.3], [0.5, 0.05, 0.05], [0.05, 0.1, 0.6]]], dtype=np.float32)
    stage = hsl.stage(HSL(blue=HSLBand(saturation=-100, luminance=50)))
    assert stage is not None
    out = backend.pixel_stages(px, [stage])
    np.testing.assert_allclose(out[0, :2], px[0, :2], atol=1e-6)
    assert not np.allclose(out[0, 2], px[0, 2], atol=1e-3)


def test_light_tone_keeps_middle_grey_under_contrast(backend: Backend) -> None:
    grey = np.full((1, 3, 3), 0.18, dtype=np.float32)
    grey[0, 1] = 0.05
    grey[0, 2] = 0.7
    stage = light.tone_stage(60, 0, 0, 0, 0)
    assert stage is not None
    out = backend.pixel_stages(grey, [stage])[0, :, 0]
    assert out[0] == pytest.approx(0.18, abs=1e-5)
    assert out[1] < 0.05
    assert out[2] > 0.7


def test_output_transform_is_display_referred_and_keeps_the_lower_range(
    backend: Backend, photo: np.ndarray
) -> None:
    out = backend.pixel_stages(photo * 4 - 0.1, [output_transform.stage()])
    assert out.min() >= 0
    assert out.max() <= 1
    calm = np.full((2, 2, 3), [0.1, 0.4, 0.7], dtype=np.float32)
    np.testing.assert_allclose(
        backend.pixel_stages(calm, [output_transform.stage()]), calm, atol=1e-7
    )
