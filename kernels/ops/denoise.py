"""Noise reduction: a joint bilateral filter (7x7 window, spatial sigma 1.5) whose range weights
come from luminance. Luminance strength sets the luma range sigma (up to 0.04 linear), colour
strength the chroma range sigma (up to 0.1); the detail sliders narrow them (keep more)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kernels.params import NoiseReduction

if TYPE_CHECKING:
    from kernels.backends.base import Backend

RADIUS = 3
# A range sigma below this smooths nothing visible, and 1 / (2 sigma^2) would overflow float32.
MIN_SIGMA = 1e-4
SIGMA_SPATIAL = 1.5


def sigmas(nr: NoiseReduction) -> tuple[float, float]:
    luma = nr.luminance / 100 * 0.04 * (1.5 - nr.luminance_detail / 100)
    chroma = nr.color / 100 * 0.1 * (1.5 - nr.color_detail / 100)
    return (luma if luma >= MIN_SIGMA else 0.0), (chroma if chroma >= MIN_SIGMA else 0.0)


def kernel_params(
    radius: int, sigma_s: float, sigma_luma: float, sigma_chroma: float
) -> np.ndarray:
    """The packed parameters `bilateral_kernel` (cuda/denoise.cu) reads, on every target:
    radius, then 1 / (2 sigma^2) for space, luma and chroma (0 turns that part off)."""
    return np.array(
        [
            radius,
            1 / (2 * sigma_s**2),
            1 / (2 * sigma_luma**2) if sigma_luma > 0 else 0.0,
            1 / (2 * sigma_chroma**2) if sigma_chroma > 0 else 0.0,
        ],
        dtype=np.float32,
    )


def spatial(scale: float) -> tuple[int, float]:
    """Window radius and spatial sigma in pixels of an image at `scale` x the original (a
    preview resampled early): the same footprint in the picture, never above the full size."""
    sigma = SIGMA_SPATIAL * min(1.0, scale)
    return min(RADIUS, max(1, math.ceil(2 * sigma))), sigma


@dataclass
class Denoise:
    settings: NoiseReduction
    scale: float = 1.0  # working pixels per original pixel

    @property
    def halo(self) -> int:
        return spatial(self.scale)[0]

    def prepare(self, backend: Backend, image: np.ndarray) -> None:
        pass

    def run(self, backend: Backend, band: np.ndarray, y0: int) -> np.ndarray:
        sl, sc = sigmas(self.settings)
        radius, sigma = spatial(self.scale)
        return backend.bilateral(band, radius, sigma, sl, sc)


def is_active(nr: NoiseReduction) -> bool:
    return any(s > 0 for s in sigmas(nr))
