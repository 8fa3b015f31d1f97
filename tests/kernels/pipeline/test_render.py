"""render(): identity, sizes, banding (tiles with a halo), progress and backend selection."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest

from kernels.backends import available_backends, best_backend, get_backend
from kernels.backends.cpu import CpuBackend
from kernels.ops import light, output_transform, white_balance
from kernels.params import (
    HSL,
    ColorGrading,
    ColorWheel,
    Crop,
    Detail,
    DevelopSettings,
    Effects,
    Geometry,
    Grain,
    HSLBand,
    Lens,
    Light,
    LocalAdjustments,
    LuminosityRange,
    Mask,
    NoiseReduction,
    Presence,
    RadialGradient,
    Sharpening,
    Vignette,
    WhiteBalance,
)
from kernels.pipeline import scene_stages, tone_stages
from kernels.render import render

BUSY = DevelopSettings(
    white_balance=WhiteBalance(temperature=4800, tint=10),
    light=Light(exposure=0.4, contrast=25, shadows=30),
    presence=Presence(texture=30, clarity=40, dehaze=25, vibrance=20),
    detail=Detail(
        sharpening=Sharpening(amount=60, radius=1.2, masking=20),
        noise_reduction=NoiseReduction(luminance=40, color=30),
    ),
    lens=Lens(k1=-0.1, ca_red=20),
    geometry=Geometry(angle=4, crop=Crop(left=0.05, right=0.95)),
    effects=Effects(vignette=Vignette(amount=-40), grain=Grain(amount=25, seed=7)),
    masks=[
        Mask(
            id="sky",
            shapes=[RadialGradient(cx=0.4, cy=0.3), LuminosityRange(low=0.2, mode="intersect")],
            adjustments=LocalAdjustments(exposure=-0.7, temperature=-30, clarity=30, sharpness=-40),
            feather=30,
        )
    ],
)


@pytest.mark.parametrize("backend", ["cpu", "numpy"])
def test_default_settings_return_the_input_unchanged(backend: str, photo: np.ndarray) -> None:
    out = render(photo, DevelopSettings(), backend=backend, output_transform=False)
    assert out is not photo
    np.testing.assert_array_equal(out, photo)


def test_default_settings_with_the_output_transform_only_apply_it(
    cpu: CpuBackend, photo: np.ndarray
) -> None:
    expected = cpu.pixel_stages(photo, [output_transform.stage()])
    np.testing.assert_array_equal(render(photo, DevelopSettings(), backend=cpu), expected)


def test_banded_rendering_equals_a_single_band(cpu: CpuBackend, photo: np.ndarray) -> None:
    """Tiles with a halo: small bands must not show seams or change a single value."""
    whole = render(photo, BUSY, backend=cpu, band_rows=4096)
    banded = render(photo, BUSY, backend=cpu, band_rows=7)
    np.testing.assert_array_equal(banded, whole)


def test_render_does_not_modify_its_input(photo: np.ndarray) -> None:
    before = photo.copy()
    render(photo, BUSY, backend="cpu")
    np.testing.assert_array_equal(photo, before)


def test_output_is_display_referred(photo: np.ndarray) -> None:
    out = render(photo * 8, BUSY, backend="cpu")
    assert out.dtype == np.float32
    assert out.min() >= 0
    assert out.max() <= 1


def test_size_sets_the_long_edge_of_the_cropped_image(photo: np.ndarray) -> None:
    settings = DevelopSettings(geometry=Geometry(crop=Crop(right=0.5)))  # 40x60 after the crop
    assert render(photo, settings, backend="cpu", size=30).shape == (30, 20, 3)
    assert render(photo, settings, backend="cpu", size=(25, 10)).shape == (10, 25, 3)


def test_progress_reports_each_stage_in_order(photo: np.ndarray) -> None:
    seen: list[tuple[float, str]] = []
    render(photo, BUSY, backend="cpu", progress=lambda f, s: seen.append((f, s)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions)
    assert seen[-1] == (1.0, "done")
    assert [s for _, s in seen][:3] == ["scene", "noise", "dehaze"]


def test_bad_input_is_refused(photo: np.ndarray) -> None:
    with pytest.raises(TypeError):
        render(photo.astype(np.float64), DevelopSettings())
    with pytest.raises(ValueError, match="HxWx3"):
        render(photo[..., 0], DevelopSettings())


def test_the_best_backend_here_is_the_cpu_build_and_it_is_logged(
    photo: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    # No GPU on this machine or CI: CUDA must not be offered; the CPU build must be.
    assert available_backends()[-1] == "numpy"
    assert "cpu" in available_backends()
    assert best_backend() == available_backends()[0]
    with caplog.at_level(logging.INFO, logger="kernels.render"):
        render(photo, DevelopSettings(), backend="auto")
    assert f"on the {best_backend()} backend" in caplog.text


def test_an_unknown_backend_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        get_backend("opencl")


def test_rendering_in_place_equals_rendering_into_a_new_buffer(photo: np.ndarray) -> None:
    settings = BUSY.model_copy(update={"geometry": Geometry(), "lens": Lens()})  # keeps the size
    expected = render(photo, settings, backend="cpu")
    work = photo.copy()
    out = render(work, settings, backend="cpu", out=work)
    assert out is work
    np.testing.assert_array_equal(out, expected)


def test_streamed_8bit_job_equals_decode_render_encode(cpu: CpuBackend) -> None:
    from kernels.ops import transfer
    from kernels.pipeline import can_stream
    from kernels.render import render_u8

    img8 = (np.random.default_rng(2).random((70, 90, 3)) * 255).astype(np.uint8)
    settings = DevelopSettings(
        white_balance=WhiteBalance(temperature=5000),
        light=Light(exposure=0.3, contrast=30),
        presence=Presence(vibrance=20),
        detail=Detail(
            sharpening=Sharpening(amount=80), noise_reduction=NoiseReduction(luminance=30)
        ),
        effects=Effects(vignette=Vignette(amount=-30), grain=Grain(amount=20)),
    )
    assert can_stream(settings, None)
    linear = cpu.decode_u8(img8, transfer.srgb_decode_table())
    expected = cpu.encode_u8(render(linear, settings, backend=cpu), transfer.srgb_encode_table())
    np.testing.assert_array_equal(render_u8(img8, settings, backend=cpu), expected)


def test_a_streamed_job_whose_tone_stage_group_is_empty_is_exposure_only(cpu: CpuBackend) -> None:
    from kernels.ops import transfer
    from kernels.render import render_u8

    img8 = (np.random.default_rng(3).random((40, 50, 3)) * 255).astype(np.uint8)
    settings = DevelopSettings(light=Light(exposure=1.0))
    linear = cpu.decode_u8(img8, transfer.srgb_decode_table())
    expected = cpu.encode_u8(render(linear, settings, backend=cpu), transfer.srgb_encode_table())
    np.testing.assert_array_equal(render_u8(img8, settings, backend=cpu), expected)


def test_recipes_with_whole_image_stages_do_not_stream() -> None:
    from kernels.pipeline import can_stream

    assert not can_stream(DevelopSettings(presence=Presence(clarity=10)), None)
    assert not can_stream(DevelopSettings(geometry=Geometry(angle=1)), None)
    assert not can_stream(DevelopSettings(), 512)


def test_white_balance_and_exposure_run_as_one_scaled_matrix(
    cpu: CpuBackend, photo: np.ndarray
) -> None:
    wb = WhiteBalance(temperature=4200, tint=15)
    stages = scene_stages(DevelopSettings(white_balance=wb, light=Light(exposure=1.0)))
    assert [s.kernel for s in stages] == ["white_balance"]
    balanced = cpu.pixel_stages(photo, scene_stages(DevelopSettings(white_balance=wb)))
    # +1 EV still exactly doubles the balanced values.
    np.testing.assert_array_equal(cpu.pixel_stages(photo, stages), balanced * 2)
    odd = scene_stages(DevelopSettings(white_balance=wb, light=Light(exposure=0.37)))
    separate = [white_balance.stage(wb), light.exposure_stage(0.37)]
    np.testing.assert_allclose(
        cpu.pixel_stages(photo, odd),
        cpu.pixel_stages(photo, [s for s in separate if s is not None]),
        rtol=1e-6,
        atol=1e-7,
    )


def test_the_mixer_and_saturation_run_as_one_kernel_unless_grading_sits_between() -> None:
    mixer = HSL(aqua=HSLBand(hue=20, saturation=30))
    merged = tone_stages(DevelopSettings(hsl=mixer, presence=Presence(vibrance=30)))
    assert [s.kernel for s in merged] == ["hsl"]
    np.testing.assert_allclose(merged[0].params[-2:], [0.3, 0.0])
    graded = DevelopSettings(
        hsl=mixer,
        presence=Presence(vibrance=30),
        color_grading=ColorGrading(shadows=ColorWheel(hue=200, saturation=40)),
    )
    assert [s.kernel for s in tone_stages(graded)] == ["hsl", "color_grading", "saturation"]


def test_a_per_pixel_8bit_job_is_one_pass_from_codes_to_codes(
    cpu: CpuBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No gather stage: the job runs as one fused pass over the 8-bit image, with the pixels
    of decode -> render -> encode (coordinates for vignette and grain, BGR, rows wider than a
    chunk of the host loop)."""
    from kernels.ops import transfer
    from kernels.render import render_u8

    passes: list[int] = []
    original = CpuBackend.pixel_stages_u8

    def spy(self: CpuBackend, src8: np.ndarray, *args: Any, **kwargs: Any) -> None:
        passes.append(src8.shape[0])
        original(self, src8, *args, **kwargs)

    monkeypatch.setattr(CpuBackend, "pixel_stages_u8", spy)
    img8 = (np.random.default_rng(4).random((37, 1100, 3)) * 255).astype(np.uint8)
    settings = DevelopSettings(
        white_balance=WhiteBalance(temperature=4400),
        light=Light(exposure=0.4, contrast=25, highlights=-30),
        presence=Presence(vibrance=15, saturation=-10),
        effects=Effects(vignette=Vignette(amount=-40), grain=Grain(amount=30)),
    )
    dec, enc = transfer.srgb_decode_table(), transfer.srgb_encode_table()
    linear = cpu.decode_u8(img8, dec, swap_rb=True)
    expected = cpu.encode_u8(render(linear, settings, backend=cpu), enc, swap_rb=True)
    np.testing.assert_array_equal(render_u8(img8, settings, backend=cpu, swap_rb=True), expected)
    assert passes == [37]  # the whole image at once


def test_a_streamed_job_with_gathers_fuses_its_ends_into_the_stages_beside_them(
    cpu: CpuBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sharpening needs float bands: each band is decoded in the scene stages' pass (codes to
    floats) and encoded in the finishing stages' pass (floats to codes), with the banded
    job's pixels."""
    from kernels.ops import transfer
    from kernels.render import render_u8

    sides: list[tuple[str, str, int]] = []
    original = CpuBackend.pixel_stages_u8

    def spy(self: CpuBackend, src: np.ndarray, out: np.ndarray, *args: Any) -> None:
        sides.append((src.dtype.name, out.dtype.name, src.shape[0]))
        original(self, src, out, *args)

    img8 = (np.random.default_rng(5).random((150, 700, 3)) * 255).astype(np.uint8)
    settings = DevelopSettings(
        white_balance=WhiteBalance(temperature=6100),
        light=Light(exposure=-0.3, shadows=40),
        detail=Detail(sharpening=Sharpening(amount=60)),
        effects=Effects(vignette=Vignette(amount=25), grain=Grain(amount=15)),
    )
    dec, enc = transfer.srgb_decode_table(), transfer.srgb_encode_table()

    class Banded(CpuBackend):
        has_u8_pass = False

    expected = render_u8(img8, settings, backend=Banded(), swap_rb=True)
    monkeypatch.setattr(CpuBackend, "pixel_stages_u8", spy)
    np.testing.assert_array_equal(render_u8(img8, settings, backend=cpu, swap_rb=True), expected)
    linear = cpu.decode_u8(img8, dec, swap_rb=True)
    unstreamed = cpu.encode_u8(render(linear, settings, backend=cpu), enc, swap_rb=True)
    np.testing.assert_array_equal(expected, unstreamed)
    ins = [s for s in sides if s[1] == "float32"]
    outs = [s for s in sides if s[0] == "float32"]
    assert len(ins) == len(outs) == 3  # 150 rows: three bands of up to 64
    assert [s[2] for s in outs] == [64, 64, 22]


@pytest.mark.parametrize("sharpen", [False, True])
def test_an_8bit_job_that_may_overwrite_its_input_gives_the_same_pixels(
    cpu: CpuBackend, sharpen: bool
) -> None:
    """overwrite=True: a one-pass job writes its result into the input (no fresh output
    image); a banded job reads input rows again as halo, so it must leave them alone and
    write a new image. Either way, the pixels of a job that keeps its input."""
    from kernels.render import render_u8

    img8 = (np.random.default_rng(6).random((150, 700, 3)) * 255).astype(np.uint8)
    settings = DevelopSettings(
        light=Light(exposure=0.6, contrast=30),
        detail=Detail(sharpening=Sharpening(amount=80 if sharpen else 0)),
    )
    expected = render_u8(img8, settings, backend=cpu, swap_rb=True)
    given = img8.copy()
    got = render_u8(given, settings, backend=cpu, swap_rb=True, overwrite=True)
    np.testing.assert_array_equal(got, expected)
    assert np.shares_memory(got, given) is not sharpen


def test_the_8bit_pass_refuses_images_it_cannot_address(cpu: CpuBackend) -> None:
    from kernels.backends.base import U8Ends
    from kernels.ops import transfer

    ends = U8Ends.transfer(transfer.srgb_decode_table(), transfer.srgb_encode_table(), 8)
    img8 = np.zeros((4, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="packed within each row"):
        cpu.pixel_stages_u8(img8[:, ::2], np.zeros((4, 4, 3), np.uint8), [], ends)
    floats = np.zeros((4, 8, 3), np.float32)
    with pytest.raises(ValueError, match="uint8 and uint8 or float32"):  # codes on one side
        cpu.pixel_stages_u8(floats, floats.copy(), [], ends)
    with pytest.raises(ValueError, match="uint8 and uint8 or float32"):
        cpu.pixel_stages_u8(img8, np.zeros((4, 8, 3), np.float64), [], ends)
    wide = np.zeros((4, 9, 3), np.uint8)
    with pytest.raises(ValueError, match="noise rows x width"):  # as wide as the image
        cpu.pixel_stages_u8(wide, wide.copy(), [], ends)


def test_the_8bit_forms_are_host_loops_with_codes_on_one_side_at_least() -> None:
    from kernels.backends.fused import U8Form, fused_source

    with pytest.raises(ValueError, match="codes on one side"):
        fused_source(["light"], "cpu", u8=U8Form(codes_in=False, codes_out=False, swap=False))
    with pytest.raises(ValueError, match="host loop"):
        fused_source(["light"], "cuda", u8=U8Form(codes_in=True, codes_out=True, swap=False))
    one = fused_source(["light"], "cpu", u8=U8Form(codes_in=True, codes_out=False, swap=True))
    assert "fused_u8_t<true, true, false>" in one  # the one form this library is built for
