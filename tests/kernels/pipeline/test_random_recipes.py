"""The CPU backend renders random recipes like the NumPy reference (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernels.backends.cpu import CpuBackend
from kernels.backends.numpy_ref import NumpyBackend
from kernels.params import (
    HSL,
    ColorGrading,
    ColorWheel,
    Detail,
    DevelopSettings,
    Effects,
    Geometry,
    Grain,
    HSLBand,
    Light,
    NoiseReduction,
    Presence,
    Sharpening,
    ToneCurve,
    Vignette,
    WhiteBalance,
)
from kernels.render import render

# End to end the per-pixel error (< 1e-5) passes through contrast, curves and local contrast,
# which can amplify it a few times; 2e-4 is still below one 12-bit output code (2.4e-4).
RECIPE_ATOL = 2e-4

slider = st.floats(-100, 100, allow_nan=False)
amount = st.floats(0, 100, allow_nan=False)


@st.composite
def recipes(draw: st.DrawFn) -> DevelopSettings:
    return DevelopSettings(
        white_balance=WhiteBalance(
            temperature=draw(st.floats(2500, 12000)), tint=draw(st.floats(-60, 60))
        ),
        light=Light(
            exposure=draw(st.floats(-2, 2)),
            contrast=draw(slider),
            highlights=draw(slider),
            shadows=draw(slider),
            whites=draw(slider),
            blacks=draw(slider),
        ),
        tone_curve=ToneCurve(
            lights=draw(slider),
            darks=draw(slider),
            luma=[(0.0, 0.0), (0.5, draw(st.floats(0.3, 0.7))), (1.0, 1.0)],
        ),
        hsl=HSL(
            red=HSLBand(hue=draw(slider), saturation=draw(slider)),
            aqua=HSLBand(luminance=draw(slider)),
        ),
        color_grading=ColorGrading(
            shadows=ColorWheel(hue=draw(st.floats(0, 360)), saturation=draw(amount)),
            highlights=ColorWheel(
                hue=draw(st.floats(0, 360)), saturation=draw(amount), luminance=draw(slider)
            ),
            balance=draw(slider),
        ),
        presence=Presence(
            vibrance=draw(slider),
            saturation=draw(slider),
            clarity=draw(slider),
            texture=draw(slider),
            dehaze=draw(slider),
        ),
        detail=Detail(
            sharpening=Sharpening(amount=draw(st.floats(1, 150)), masking=draw(amount)),
            noise_reduction=NoiseReduction(luminance=draw(amount), color=draw(amount)),
        ),
        geometry=Geometry(angle=draw(st.floats(-10, 10)), flip_horizontal=draw(st.booleans())),
        effects=Effects(
            vignette=Vignette(amount=draw(st.floats(-100, -1)), roundness=draw(slider)),
            grain=Grain(amount=draw(st.floats(1, 100)), seed=draw(st.integers(0, 2**31 - 1))),
        ),
    )


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(recipe=recipes())
def test_random_recipes_render_the_same_on_cpu_and_reference(
    recipe: DevelopSettings, cpu: CpuBackend, ref: NumpyBackend, photo: np.ndarray
) -> None:
    small = photo[:40, :56]
    expected = render(small, recipe, backend=ref)
    np.testing.assert_allclose(render(small, recipe, backend=cpu), expected, atol=RECIPE_ATOL)
