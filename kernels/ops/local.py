"""What a mask's LocalAdjustments become: per-pixel stages (blended by the mask weight) and
neighbourhood ops (their result blended by the mask weight).

Local temperature +-100 is a +-60 mired shift of the assumed scene light (+ warms), tint +-100 is
+-150 of the global tint scale. Negative sharpness softens (a Gaussian of sigma 2 px blended in
by |s|/100). Local noise reduction only adds smoothing: negative values have nothing to remove
when applied on their own and are treated as 0 (documented behaviour, not an omission).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kernels.ops import color_grading, light, white_balance
from kernels.ops.blur import gaussian_blur, gaussian_radius
from kernels.ops.denoise import Denoise
from kernels.ops.local_contrast import Dehaze, LocalContrast
from kernels.ops.sharpen import Sharpen
from kernels.ops.stage import PixelStage
from kernels.params import LocalAdjustments, NoiseReduction, Presence, Sharpening, WhiteBalance

if TYPE_CHECKING:
    from kernels.backends.base import Backend

D65_MIRED = 1e6 / 6504.0


def pixel_stages(adj: LocalAdjustments) -> list[PixelStage]:
    stages: list[PixelStage | None] = []
    if adj.temperature or adj.tint:
        kelvin = 1e6 / (D65_MIRED - adj.temperature / 100 * 60)
        stages.append(white_balance.stage(WhiteBalance(temperature=kelvin, tint=adj.tint * 1.5)))
    stages.append(light.exposure_stage(adj.exposure))
    stages.append(
        light.tone_stage(adj.contrast, adj.highlights, adj.shadows, adj.whites, adj.blacks)
    )
    stages.append(color_grading.saturation_stage(Presence(saturation=adj.saturation)))
    return [s for s in stages if s is not None]


@dataclass
class Soften:
    amount: float  # 0..1
    sigma: float = 2.0

    @property
    def halo(self) -> int:
        return gaussian_radius(self.sigma)

    def prepare(self, backend: Backend, image: np.ndarray) -> None:
        pass

    def run(self, backend: Backend, band: np.ndarray, y0: int) -> np.ndarray:
        blurred = gaussian_blur(backend, band, self.sigma)
        return (band + (blurred - band) * np.float32(self.amount)).astype(np.float32)


def presence_ops(adj: LocalAdjustments) -> list[LocalContrast | Dehaze]:
    ops: list[LocalContrast | Dehaze] = []
    if adj.texture or adj.clarity:
        ops.append(LocalContrast(texture=adj.texture, clarity=adj.clarity))
    if adj.dehaze:
        ops.append(Dehaze(adj.dehaze))
    return ops


def detail_ops(adj: LocalAdjustments, scale: float = 1.0) -> list[Sharpen | Soften | Denoise]:
    """The mask's detail ops; `scale`: working pixels per original pixel (pixel radii shrink
    with an early-resampled preview)."""
    ops: list[Sharpen | Soften | Denoise] = []
    if adj.sharpness > 0:
        ops.append(Sharpen(Sharpening(amount=adj.sharpness, radius=1.0, detail=50), scale))
    elif adj.sharpness < 0:
        ops.append(Soften(-adj.sharpness / 100, max(0.25, 2.0 * min(1.0, scale))))
    if adj.noise > 0:
        ops.append(Denoise(NoiseReduction(luminance=adj.noise, color=adj.noise / 2), scale))
    return ops
