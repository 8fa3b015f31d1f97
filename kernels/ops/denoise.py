"""Noise reduction: a joint bilateral filter (7x7 window, spatial sigma 1.5) whose range weights
come from luminance. Luminance strength sets the luma range sigma (up to 0.04 linear), colour
strength the chroma range sigma (up to 0.1); the detail sliders narrow them (keep more)."""

from __future__ import annotations

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


@dataclass
class Denoise:
    settings: NoiseReduction
    halo: int = RADIUS

    def prepare(self, backend: Backend, image: np.ndarray) -> None:
        pass

    def run(self, backend: Backend, band: np.ndarray, y0: int) -> np.ndarray:
        sl, sc = sigmas(self.settings)
        return backend.bilateral(band, RADIUS, SIGMA_SPATIAL, sl, sc)


def is_active(nr: NoiseReduction) -> bool:
    return any(s > 0 for s in sigmas(nr))
