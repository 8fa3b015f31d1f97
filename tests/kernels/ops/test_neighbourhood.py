"""Neighbourhood and geometry operations: identity, properties, CPU against the reference."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kernels.backends.base import Backend
from kernels.backends.cpu import CpuBackend
from kernels.backends.numpy_ref import NumpyBackend
from kernels.ops import denoise, geometry, local_contrast, sampling, sharpen
from kernels.params import Crop, Geometry, Lens, NoiseReduction, Sharpening
from tests.kernels.ops.tolerances import GATHER_ATOL


def _ops() -> dict[str, object]:
    return {
        "sharpen": sharpen.Sharpen(Sharpening(amount=120, radius=1.5, detail=30, masking=40)),
        "local_contrast": local_contrast.LocalContrast(texture=70, clarity=-50),
        "dehaze": local_contrast.Dehaze(60),
        "haze": local_contrast.Dehaze(-40),
        "denoise": denoise.Denoise(NoiseReduction(luminance=70, luminance_detail=20, color=60)),
    }


@pytest.mark.parametrize("name", list(_ops()))
def test_each_neighbourhood_op_on_the_cpu_matches_the_reference(
    name: str, cpu: CpuBackend, ref: NumpyBackend, photo: np.ndarray
) -> None:
    op = _ops()[name]
    op.prepare(ref, photo)  # type: ignore[attr-defined]
    expected = op.run(ref, photo, 0)  # type: ignore[attr-defined]
    assert not np.allclose(expected, photo, atol=1e-3)
    op.prepare(cpu, photo)  # type: ignore[attr-defined]
    np.testing.assert_allclose(op.run(cpu, photo, 0), expected, atol=GATHER_ATOL)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "settings",
    [
        NoiseReduction(luminance=70, color=60),
        NoiseReduction(luminance=70),
        NoiseReduction(color=60),
    ],
    ids=["both", "luminance", "colour"],
)
def test_bilateral_host_loop_matches_the_reference_across_row_chunks(
    settings: NoiseReduction, cpu: CpuBackend, ref: NumpyBackend, photo: np.ndarray
) -> None:
    # The host loop works on 256-pixel chunks of a row with the edge columns apart; a strip
    # 600 pixels wide has three chunks (the last partial) and both edges, per channel switch.
    rng = np.random.default_rng(3)
    strip = np.tile(photo[:9], (1, 7, 1))[:, :600]
    strip = (strip + rng.normal(0, 0.01, strip.shape)).astype(np.float32)
    op = denoise.Denoise(settings)
    expected = op.run(ref, strip, 0)
    assert not np.allclose(expected, strip, atol=1e-3)
    np.testing.assert_allclose(op.run(cpu, strip, 0), expected, atol=GATHER_ATOL)


GEOMETRIES = {
    "crop": (Geometry(crop=Crop(left=0.2, top=0.1, right=0.7, bottom=0.8)), Lens()),
    "straighten+flip": (Geometry(angle=-12.5, flip_horizontal=True, flip_vertical=True), Lens()),
    "lens": (Geometry(), Lens(k1=-0.3, k2=0.1, ca_red=40, ca_blue=-60)),
}


@pytest.mark.parametrize("name", list(GEOMETRIES))
def test_geometry_warp_on_the_cpu_matches_the_reference(
    name: str, cpu: CpuBackend, ref: NumpyBackend, photo: np.ndarray
) -> None:
    geom, lens = GEOMETRIES[name]
    expected = geometry.apply(ref, photo, geom, lens)
    np.testing.assert_allclose(geometry.apply(cpu, photo, geom, lens), expected, atol=GATHER_ATOL)


@pytest.mark.parametrize("name", list(GEOMETRIES))
def test_warp_host_loop_matches_the_reference_across_chunks(
    name: str, cpu: CpuBackend, ref: NumpyBackend, photo: np.ndarray
) -> None:
    # The host warp works on 256-pixel chunks of an output row and reads the source's last row
    # from a padded copy: 600 pixels wide, three chunks (the last partial); the straighten
    # samples the last row.
    geom, lens = GEOMETRIES[name]
    # Stretched, not tiled: a tile seam's step would test float32 source positions instead.
    wide = cv2.resize(photo[:30], (600, 30), interpolation=cv2.INTER_LINEAR)
    expected = geometry.apply(ref, wide, geom, lens, snap=False)
    np.testing.assert_allclose(
        geometry.apply(cpu, wide, geom, lens, snap=False), expected, atol=GATHER_ATOL
    )


@pytest.mark.parametrize("size", [(250, 17), (1100, 45), (130, 64)])
def test_resize_host_loops_match_the_reference_across_strips(
    size: tuple[int, int], cpu: CpuBackend, ref: NumpyBackend, photo: np.ndarray
) -> None:
    # The row pass works on strips of 1024 floats (a 520-pixel row is two strips and a tail),
    # the column pass reads a tap as four floats except on the last row.
    wide = np.ascontiguousarray(np.tile(photo[:40], (1, 6, 1))[:, :520])
    expected = geometry.resize(ref, wide, *size)
    np.testing.assert_allclose(geometry.resize(cpu, wide, *size), expected, atol=GATHER_ATOL)


@pytest.fixture(params=["cpu", "ref"])
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.getfixturevalue(request.param)


def test_identity_geometry_returns_the_input(backend: Backend, photo: np.ndarray) -> None:
    assert geometry.apply(backend, photo, Geometry(), Lens()) is photo


def test_a_crop_is_an_exact_slice(backend: Backend, photo: np.ndarray) -> None:
    geom = Geometry(crop=Crop(left=0.25, top=0.5, right=0.75, bottom=1.0))
    np.testing.assert_array_equal(geometry.apply(backend, photo, geom, Lens()), photo[36:72, 24:72])


def test_flips_mirror_exactly(backend: Backend, photo: np.ndarray) -> None:
    geom = Geometry(flip_horizontal=True, flip_vertical=True)
    np.testing.assert_array_equal(geometry.apply(backend, photo, geom, Lens()), photo[::-1, ::-1])


@pytest.mark.parametrize("angle", [-33.0, 7.5, 20.0])
def test_straightening_zooms_just_enough_to_leave_no_blank_corner(angle: float) -> None:
    h, w = 40, 60
    p = geometry.warp_params(Geometry(angle=angle), Lens(), w, h)
    # The continuous corners of the output frame, mapped into the source.
    corners_x = np.array([[-0.5, w - 0.5, -0.5, w - 0.5]])
    corners_y = np.array([[-0.5, -0.5, h - 0.5, h - 0.5]])
    sx, sy = sampling.warp_coords(p, corners_x, corners_y, 0)
    assert sx.min() >= -0.5 - 1e-6
    assert sx.max() <= w - 0.5 + 1e-6
    assert sy.min() >= -0.5 - 1e-6
    assert sy.max() <= h - 0.5 + 1e-6
    # ...and no more than that: a corner touches the source's edge.
    slack = min(sx.min() + 0.5, w - 0.5 - sx.max(), sy.min() + 0.5, h - 0.5 - sy.max())
    assert slack < 1e-4


def test_size_is_a_long_edge_or_exact() -> None:
    assert geometry.target_size(48, 96, 72) == (48, 36)
    assert geometry.target_size((50, 20), 96, 72) == (50, 20)
    assert geometry.target_size(None, 96, 72) == (96, 72)


def test_sharpening_adds_contrast_at_an_edge(backend: Backend) -> None:
    step = np.full((16, 32, 3), 0.2, dtype=np.float32)
    step[:, 16:] = 0.6
    op = sharpen.Sharpen(Sharpening(amount=100, radius=1.0, detail=100))
    out = op.run(backend, step, 0)
    assert out[8, 15, 0] < 0.2
    assert out[8, 16, 0] > 0.6
    np.testing.assert_allclose(out[8, :8], step[8, :8], atol=1e-6)  # flat areas untouched


def test_denoise_reduces_noise_but_keeps_an_edge(backend: Backend) -> None:
    rng = np.random.default_rng(3)
    clean = np.full((32, 32, 3), 0.2, dtype=np.float32)
    clean[:, 16:] = 0.8
    noisy = (clean + rng.normal(0, 0.01, clean.shape)).astype(np.float32)
    out = denoise.Denoise(NoiseReduction(luminance=100, luminance_detail=0, color=100)).run(
        backend, noisy, 0
    )
    assert np.std(out[:, 3:13] - clean[:, 3:13]) < 0.5 * np.std(noisy[:, 3:13] - clean[:, 3:13])
    assert out[:, 17:].mean() > 0.75
    assert out[:, :15].mean() < 0.25
