"""The one entry point: a recipe's develop settings applied to a linear Rec.2020 image."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from kernels.backends import available_backends, best_backend, get_backend
from kernels.backends.base import Backend
from kernels.params import DevelopSettings
from kernels.pipeline import BAND_ROWS, Pipeline, Progress

log = logging.getLogger(__name__)

__all__ = ["available_backends", "best_backend", "render"]


def render(
    image: np.ndarray,
    settings: DevelopSettings,
    *,
    backend: str | Backend = "auto",
    size: int | tuple[int, int] | None = None,
    bitmaps: Mapping[str, np.ndarray] | None = None,
    output_transform: bool = True,
    progress: Progress | None = None,
    band_rows: int = BAND_ROWS,
) -> np.ndarray:
    """Develop `image` (HxWx3 float32, linear Rec.2020, scene-referred) with `settings`.

    size: long edge in pixels, or exact (width, height), after crop; None keeps the crop's size.
    bitmaps: arrays for BitmapMask asset ids. output_transform: roll highlights off and map to
    display-referred [0, 1] (the encoder then applies the output profile). progress(fraction,
    stage) is called as stages start. Returns float32 linear Rec.2020; the input is not modified.
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 image, got shape {image.shape}")
    if image.dtype != np.float32:
        raise TypeError(f"expected float32 linear RGB, got {image.dtype}")
    chosen = get_backend(backend)
    log.info("rendering %dx%d on the %s backend", image.shape[1], image.shape[0], chosen.name)
    pipeline = Pipeline(settings, chosen, bitmaps, size, output_transform, progress, band_rows)
    return pipeline.run(image)
