"""Sharpening: unsharp mask on luminance with Lightroom's controls. amount/100 is the gain of
the detail (Y - blur(Y)); `detail` softens small differences (a soft threshold of
(1 - detail/100) * 0.02, so 100 is a plain unsharp mask); `masking` restricts sharpening to
edges by the relative gradient of the blurred luminance (0 = everywhere)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kernels.ops.blur import gaussian_blur, gaussian_radius
from kernels.ops.stage import luma, smoothstep
from kernels.params import Sharpening

if TYPE_CHECKING:
    from kernels.backends.base import Backend


def sharpen_params(s: Sharpening) -> np.ndarray:
    hi = (s.masking / 100) ** 2 * 0.05
    return np.array([s.amount / 100, (1 - s.detail / 100) * 0.02, hi * 0.25, hi], dtype=np.float32)


def apply_reference(
    rgb: np.ndarray, yb_band: np.ndarray, p: np.ndarray, row_offset: int = 0
) -> np.ndarray:
    y = luma(rgb).astype(np.float64)
    h = rgb.shape[0]
    yb_all = yb_band.astype(np.float64)
    yb = yb_all[row_offset : row_offset + h]
    d = y - yb
    soft = np.abs(d) / (np.abs(d) + p[1]) if p[1] > 0 else 1.0
    m: np.ndarray | float = 1.0
    if p[3] > 0:
        pad = np.pad(yb_all, 1, mode="edge")[row_offset : row_offset + h + 2]
        gx = (pad[1:-1, 2:] - pad[1:-1, :-2]) * 0.5
        gy = (pad[2:, 1:-1] - pad[:-2, 1:-1]) * 0.5
        m = smoothstep(float(p[2]), float(p[3]), (gx * gx + gy * gy) / (yb * yb + 1e-4))
    return (rgb + (p[0] * d * soft * m)[..., None]).astype(np.float32)


# Floor for the scaled radius of an early-resampled preview: a sampled Gaussian narrower than
# this is a single tap and would not sharpen at all, where sharpening at full size and shrinking
# still lifts detail near the output Nyquist. 0.45 px minimised the preview-vs-full difference
# over 0.35..0.55 (tests/kernels/pipeline/test_early_resample.py, docs/kernels.md).
MIN_SIGMA = 0.45


@dataclass
class Sharpen:
    settings: Sharpening
    scale: float = 1.0  # working pixels per original pixel (early-resampled previews)

    @property
    def sigma(self) -> float:
        return max(MIN_SIGMA, self.settings.radius * min(1.0, self.scale))

    @property
    def halo(self) -> int:
        return gaussian_radius(self.sigma) + 1

    def prepare(self, backend: Backend, image: np.ndarray) -> None:
        pass  # purely local

    def aux(self, backend: Backend, band: np.ndarray, y0: int) -> np.ndarray:
        """Blurred luminance of the band with its halo (from values not yet sharpened)."""
        return gaussian_blur(backend, backend.luma(band), self.sigma)[..., 0]

    def apply(
        self, backend: Backend, core: np.ndarray, aux: np.ndarray, offset: int, y0: int
    ) -> None:
        """Sharpen `core` (rows offset.. of the aux band) in place."""
        backend.sharpen(core, aux, sharpen_params(self.settings), offset, inplace=True)

    def run(self, backend: Backend, band: np.ndarray, y0: int) -> np.ndarray:
        return backend.sharpen(band, self.aux(backend, band, y0), sharpen_params(self.settings))


def is_active(s: Sharpening) -> bool:
    return s.amount > 0 and not math.isclose(s.amount, 0.0)
