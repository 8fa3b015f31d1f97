"""The 8-bit JPEG -> JPEG export path (kernels.io.render8, used by exports.rendering) writes
what the general path writes: decode to the working space, render, encode. Tolerance: none on
the CPU backend; the same pixels, hence the same file bytes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image

from exports import rendering
from kernels.io import build_profile, decode, encode
from kernels.io.render8 import decode_8bit, develop_8bit
from kernels.params import (
    Crop,
    Detail,
    DevelopSettings,
    Geometry,
    Light,
    NoiseReduction,
    Presence,
    Sharpening,
)
from kernels.render import render

from .conftest import jpeg_bytes, png_bytes

RECIPES = {
    "exposure only": DevelopSettings(light=Light(exposure=0.5)),
    "tone and colour": DevelopSettings(
        light=Light(exposure=0.3, contrast=20, highlights=-40, shadows=25),
        presence=Presence(saturation=15, vibrance=10),
    ),
    "gathers with halos": DevelopSettings(
        detail=Detail(
            sharpening=Sharpening(amount=70),
            noise_reduction=NoiseReduction(luminance=30, color=25),
        )
    ),
    "whole-image stages": DevelopSettings(presence=Presence(clarity=30, dehaze=10)),
    "crop": DevelopSettings(geometry=Geometry(crop=Crop(left=0.1, top=0.05, right=0.8))),
}


def _source(cat: np.ndarray) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways
    exif[0x010F] = "Maker"
    tall = np.ascontiguousarray(np.concatenate([cat, cat[::-1]], axis=0))  # 600 rows: bands
    return jpeg_bytes(
        tall, quality=95, exif=exif.tobytes(), icc_profile=build_profile("display-p3")
    )


def _general(data: bytes, settings: DevelopSettings, options: rendering.RenderOptions) -> bytes:
    decoded = decode(data)
    h, w = decoded.rgb.shape[:2]
    size = rendering.output_size(w, h, long_edge=options.long_edge, cap=options.cap)
    out = render(decoded.rgb, settings, backend="cpu", size=size)
    return encode(
        out,
        format="jpeg",
        quality=options.quality,
        profile=options.profile,
        metadata_policy=options.metadata_policy,
        metadata_source=decoded.exif,
    )


@pytest.mark.parametrize("recipe", RECIPES)
@pytest.mark.parametrize("long_edge", [None, 250])
def test_eight_bit_export_writes_the_general_paths_bytes(cat, recipe, long_edge):
    data = _source(cat)
    options = rendering.RenderOptions(format="jpeg", quality=88, long_edge=long_edge)
    assert decode_8bit(data) is not None  # this file takes the 8-bit path
    ours = rendering.render_file(data, RECIPES[recipe], options, backend="cpu")
    assert ours == _general(data, RECIPES[recipe], options)


@pytest.mark.parametrize("profile", ["display-p3", "adobe-rgb"])
def test_eight_bit_develop_converts_to_the_output_profile_like_encode(cat, profile):
    data = _source(cat)
    settings = RECIPES["tone and colour"]
    options = rendering.RenderOptions(format="jpeg", profile=profile)
    assert rendering.render_file(data, settings, options, backend="cpu") == _general(
        data, settings, options
    )
    source = decode_8bit(data)
    assert source is not None
    bgr = develop_8bit(source, settings, profile=profile, backend="cpu")
    assert bgr.shape == (451, 600, 3)  # upright


def test_files_the_8_bit_path_cannot_take_go_the_general_way(cat):
    grey = jpeg_bytes(cat[..., 0])
    png = png_bytes(cat)
    assert decode_8bit(grey) is None
    assert decode_8bit(png) is None
    settings = RECIPES["exposure only"]
    for data in (grey, png):
        out = rendering.render_file(data, settings, rendering.RenderOptions(), backend="cpu")
        assert out == _general(data, settings, rendering.RenderOptions())


def test_the_8_bit_path_still_develops_through_the_adapters_develop(cat, monkeypatch):
    """Workers and tests hook rendering.develop (slow renders, heartbeats): both paths call it."""
    calls: list[type] = []
    original = rendering.develop

    def spy(image: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(type(image))
        return original(image, *args, **kwargs)

    monkeypatch.setattr(rendering, "develop", spy)
    rendering.render_file(_source(cat), RECIPES["exposure only"], rendering.RenderOptions())
    rendering.render_file(
        _source(cat), RECIPES["exposure only"], rendering.RenderOptions(watermark=True)
    )
    assert calls == [rendering.EightBit, np.ndarray]


def test_the_8_bit_ends_forward_every_backend_primitive_to_the_backend_that_runs() -> None:
    # A primitive the wrapper does not forward falls back to Backend's NumPy default: correct,
    # but the 8-bit export then runs that stage on NumPy (masks did, 60x slower).
    from kernels.backends.base import Backend
    from kernels.io.render8 import ManagedEnds

    primitives = {
        name
        for name, value in vars(Backend).items()
        if callable(value) and not name.startswith("_")
    }
    assert primitives <= set(vars(ManagedEnds)), primitives - set(vars(ManagedEnds))


def test_a_masked_8_bit_export_rasterises_its_mask_on_the_running_backend(
    cat: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kernels.backends.cpu import CpuBackend
    from kernels.params import LocalAdjustments, Mask, RadialGradient

    calls: list[str] = []
    original = CpuBackend.mask_coverage

    def spy(self: CpuBackend, *args: Any, **kwargs: Any) -> np.ndarray:
        calls.append("coverage")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CpuBackend, "mask_coverage", spy)
    settings = DevelopSettings(
        masks=[
            Mask(
                id="m1",
                shapes=[RadialGradient(cx=0.5, cy=0.5, rx=0.3, ry=0.2)],
                adjustments=LocalAdjustments(exposure=1.0),
            )
        ]
    )
    source = decode_8bit(_source(cat))
    assert source is not None
    develop_8bit(source, settings, backend="cpu")
    assert calls


@pytest.mark.parametrize("profile", ["srgb", "adobe-rgb"])
def test_per_pixel_recipes_develop_in_one_8_bit_pass_with_the_general_paths_bytes(
    cat: np.ndarray, profile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Display P3 in, the output profile out, through the colour-managed ends of the fused
    8-bit pass (kernels/cuda/u8_ends_cpu.h): the bytes the float path writes."""
    from kernels.backends.cpu import CpuBackend

    passes: list[tuple[int, ...]] = []
    original = CpuBackend.pixel_stages_u8

    def spy(self: CpuBackend, src8: np.ndarray, *args: Any, **kwargs: Any) -> None:
        passes.append(src8.shape)
        original(self, src8, *args, **kwargs)

    monkeypatch.setattr(CpuBackend, "pixel_stages_u8", spy)
    data = _source(cat)
    options = rendering.RenderOptions(format="jpeg", quality=90, profile=profile)
    settings = RECIPES["tone and colour"]
    assert rendering.render_file(data, settings, options, backend="cpu") == _general(
        data, settings, options
    )
    assert passes == [(451, 600, 3)]
