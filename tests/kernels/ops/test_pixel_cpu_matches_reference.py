"""The host build of every per-pixel CUDA source matches the NumPy reference, alone and fused."""

from __future__ import annotations

import numpy as np
import pytest

from kernels.backends import cpu as cpu_module
from kernels.backends.cpu import CpuBackend
from kernels.backends.numpy_ref import NumpyBackend
from kernels.ops import (
    color_grading,
    effects,
    hsl,
    light,
    output_transform,
    tone_curve,
    white_balance,
)
from kernels.ops.stage import PixelStage
from kernels.params import (
    HSL,
    ColorGrading,
    ColorWheel,
    Grain,
    HSLBand,
    Presence,
    ToneCurve,
    Vignette,
    WhiteBalance,
)
from tests.kernels.ops.tolerances import PIXEL_ATOL, PIXEL_RTOL

MIXER = HSL(
    orange=HSLBand(hue=40, saturation=-50, luminance=30),
    blue=HSLBand(hue=-70, saturation=80),
)
VIBRANCE = Presence(vibrance=45, saturation=-25)
# No band shifts hue: the host skips the hexcone for every chunk.
UNTURNED = HSL(orange=HSLBand(saturation=-50, luminance=30), aqua=HSLBand(saturation=40))


def _mixer_then_saturation(mixer: HSL = MIXER) -> PixelStage:
    first, sat = hsl.stage(mixer), color_grading.saturation_stage(VIBRANCE)
    assert first is not None
    assert sat is not None
    return hsl.with_saturation(first, sat)


def _stages() -> dict[str, PixelStage | None]:
    return {
        "white_balance": white_balance.stage(WhiteBalance(temperature=3800, tint=-25)),
        "exposure": light.exposure_stage(1.3),
        "light": light.tone_stage(35, -60, 70, 25, -40),
        "tone_curve": tone_curve.stage(
            ToneCurve(
                highlights=-30,
                shadows=25,
                luma=[(0, 0), (0.4, 0.5), (1, 1)],
                blue=[(0, 0.1), (1, 0.95)],
            )
        ),
        "hsl": hsl.stage(MIXER),
        "hsl_then_saturation": _mixer_then_saturation(),
        "hsl_without_hue_shifts": hsl.stage(UNTURNED),
        "hsl_without_hue_shifts_then_saturation": _mixer_then_saturation(UNTURNED),
        "color_grading": color_grading.grading_stage(
            ColorGrading(
                shadows=ColorWheel(hue=210, saturation=60, luminance=-20),
                highlights=ColorWheel(hue=45, saturation=40, luminance=10),
                global_=ColorWheel(hue=300, saturation=10),
                balance=-30,
            )
        ),
        "saturation": color_grading.saturation_stage(VIBRANCE),
        "vignette": effects.vignette_stage(Vignette(amount=-70, roundness=-40, feather=20), 96, 72),
        "grain": effects.grain_stage(Grain(amount=60, size=50, roughness=70, seed=1234567)),
        "output_transform": output_transform.stage(),
    }


@pytest.mark.parametrize("name", list(_stages()))
def test_each_op_on_the_cpu_matches_the_reference(
    name: str, cpu: CpuBackend, ref: NumpyBackend, photo: np.ndarray
) -> None:
    stage = _stages()[name]
    assert stage is not None
    expected = ref.pixel_stages(photo, [stage])
    assert not np.allclose(expected, photo, atol=1e-3), "the parameters must move pixels"
    np.testing.assert_allclose(
        cpu.pixel_stages(photo, [stage]), expected, atol=PIXEL_ATOL, rtol=PIXEL_RTOL
    )


def test_the_fused_chain_on_a_tile_matches_the_reference(
    cpu: CpuBackend, ref: NumpyBackend, photo: np.ndarray
) -> None:
    stages = [s for s in _stages().values() if s is not None]
    # A strided view at an offset: position-dependent ops must use global coordinates.
    tile = photo[10:50, 20:90]
    expected = ref.pixel_stages(tile, stages, x0=20, y0=10)
    np.testing.assert_allclose(
        cpu.pixel_stages(tile, stages, x0=20, y0=10), expected, atol=PIXEL_ATOL, rtol=PIXEL_RTOL
    )
    full = ref.pixel_stages(photo, stages)
    np.testing.assert_allclose(expected, full[10:50, 20:90], atol=1e-6)


def test_streaming_stores_write_the_same_pixels(
    cpu: CpuBackend, photo: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Large outputs are written with non-temporal stores; force that path on a small image, into
    # a destination that is not 16-byte aligned (one float into a buffer) and in place.
    stages = [s for s in _stages().values() if s is not None]
    plain = cpu.pixel_stages(photo, stages)
    monkeypatch.setattr(cpu_module, "STREAM_MIN_BYTES", 0)
    buf = np.zeros(photo.size + 1, dtype=np.float32)
    unaligned = buf[1:].reshape(photo.shape)
    cpu.pixel_stages_into(photo, unaligned, stages, 0, 0)
    np.testing.assert_array_equal(unaligned, plain)
    inplace = photo.copy()
    cpu.pixel_stages_into(inplace, inplace, stages, 0, 0)
    np.testing.assert_array_equal(inplace, plain)


def test_the_merged_mixer_and_saturation_kernel_computes_the_two_stages(
    cpu: CpuBackend, ref: NumpyBackend, photo: np.ndarray
) -> None:
    # The merged kernel derives the saturation stage's luminance, max and min from the mixer's;
    # it must give what the two references give one after the other.
    two = [hsl.stage(MIXER), color_grading.saturation_stage(VIBRANCE)]
    expected = ref.pixel_stages(photo, [s for s in two if s is not None])
    got = cpu.pixel_stages(photo, [_mixer_then_saturation()])
    np.testing.assert_allclose(got, expected, atol=PIXEL_ATOL, rtol=PIXEL_RTOL)


def test_the_per_pixel_composition_the_gpu_runs_matches_the_reference(
    ref: NumpyBackend, photo: np.ndarray
) -> None:
    # Stages with host chunk loops (the mixer's permute lookups) also compose as one device
    # function per pixel, which is what the CUDA kernel runs; built here for the host.
    per_pixel = CpuBackend(chunks=False)
    stages = [s for s in _stages().values() if s is not None]
    np.testing.assert_allclose(
        per_pixel.pixel_stages(photo, stages),
        ref.pixel_stages(photo, stages),
        atol=PIXEL_ATOL,
        rtol=PIXEL_RTOL,
    )


def test_the_merged_kernel_treats_greys_and_near_blacks_as_the_two_stages_do(
    cpu: CpuBackend, ref: NumpyBackend
) -> None:
    # The mixer leaves these alone (no chroma, or a max at or below 1e-8 even with a negative,
    # out-of-gamut channel); the saturation stage still moves the ones with chroma.
    px = np.array(
        [[[0.3, 0.3, 0.3], [0.0, 0.0, 0.0], [1e-9, 0.0, -0.05], [5e-9, 2e-9, 0.0]]],
        dtype=np.float32,
    )
    two = [hsl.stage(MIXER), color_grading.saturation_stage(VIBRANCE)]
    expected = ref.pixel_stages(px, [s for s in two if s is not None])
    got = cpu.pixel_stages(px, [_mixer_then_saturation()])
    np.testing.assert_allclose(got, expected, atol=PIXEL_ATOL, rtol=PIXEL_RTOL)
    mixer_only = hsl.stage(MIXER)
    assert mixer_only is not None
    np.testing.assert_array_equal(cpu.pixel_stages(px, [mixer_only]), px)


def test_a_masked_pass_blends_the_stages_by_the_weights_in_the_fused_pass(
    cpu: CpuBackend, ref: NumpyBackend, photo: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    stages = [s for s in _stages().values() if s is not None]
    weight = np.random.default_rng(0).random(photo.shape[:2]).astype(np.float32)
    weight[:, :10] = 0.0
    expected = np.empty_like(photo)
    ref.masked_pixel_stages_into(photo, expected, stages, 0, 0, weight)
    monkeypatch.setattr(cpu_module, "STREAM_MIN_BYTES", 0)  # the streaming stores as well
    into = np.empty_like(photo)
    cpu.masked_pixel_stages_into(photo, into, stages, 0, 0, weight)
    in_place = photo.copy()
    cpu.masked_pixel_stages_into(in_place, in_place, stages, 0, 0, weight)
    for got in (into, in_place):
        np.testing.assert_allclose(got, expected, atol=PIXEL_ATOL, rtol=PIXEL_RTOL)
        np.testing.assert_array_equal(got[:, :10], photo[:, :10])  # weight 0: untouched


def test_the_output_transforms_quiet_chunks_give_the_per_pixel_forms_values(
    cpu: CpuBackend,
) -> None:
    # The host skips the roll-off and the gamut compression in 512-pixel chunks with nothing to
    # compress or roll off; those only clamp, bit for bit what the per-pixel form gives.
    rng = np.random.default_rng(7)
    img = (rng.random((6, 1600, 3)) * 0.8).astype(np.float32)  # every chunk quiet...
    img[1, 700] = [0.95, 0.2, 0.1]  # ...but these: a highlight,
    img[2, 1200] = [0.3, -0.02, 0.4]  # a negative channel,
    img[3, 100] = [np.nan, 0.5, 0.5]  # NaN (black, as the clamp makes it),
    img[4, 1599] = [1.7, 1.9, 2.5]  # the last pixel of a row, far above white
    stage = output_transform.stage()
    per_pixel = CpuBackend(chunks=False)
    np.testing.assert_array_equal(
        cpu.pixel_stages(img, [stage]), per_pixel.pixel_stages(img, [stage])
    )
    quiet = cpu.pixel_stages(img, [stage])
    assert np.array_equal(quiet[0], img[0])  # a quiet row is untouched
    assert quiet[3, 100, 0] == 0.0
