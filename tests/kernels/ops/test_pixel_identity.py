"""Identity parameters return the input unchanged: no stage is built, and an empty chain is an
exact copy on every backend."""

from __future__ import annotations

import numpy as np
import pytest

from kernels.backends.base import Backend
from kernels.ops import color_grading, effects, hsl, light, tone_curve, white_balance
from kernels.params import (
    HSL,
    ColorGrading,
    ColorWheel,
    Grain,
    Presence,
    ToneCurve,
    Vignette,
    WhiteBalance,
)


def test_default_settings_build_no_pixel_stage() -> None:
    stages = [
        white_balance.stage(WhiteBalance()),
        light.exposure_stage(0.0),
        light.tone_stage(0, 0, 0, 0, 0),
        tone_curve.stage(ToneCurve()),
        hsl.stage(HSL()),
        color_grading.grading_stage(ColorGrading()),
        color_grading.saturation_stage(Presence()),
        effects.vignette_stage(Vignette(), 100, 100),
        effects.grain_stage(Grain()),
    ]
    assert stages == [None] * len(stages)


def test_settings_that_move_nothing_build_no_stage() -> None:
    # Split points without region sliders, a wheel hue without saturation: still identity.
    assert tone_curve.stage(ToneCurve(shadow_split=40, midtone_split=60)) is None
    assert (
        color_grading.grading_stage(ColorGrading(midtones=ColorWheel(hue=120), balance=30)) is None
    )


@pytest.mark.parametrize("backend_name", ["cpu", "ref"])
def test_empty_chain_is_an_exact_copy(
    backend_name: str, request: pytest.FixtureRequest, photo: np.ndarray
) -> None:
    backend: Backend = request.getfixturevalue(backend_name)
    out = backend.pixel_stages(photo, [])
    assert out is not photo
    np.testing.assert_array_equal(out, photo)
