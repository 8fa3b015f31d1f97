"""The one entry point: a recipe's develop settings applied to a linear Rec.2020 image."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from kernels.backends import available_backends, best_backend, get_backend
from kernels.backends.base import Backend
from kernels.ops import transfer
from kernels.params import DevelopSettings
from kernels.pipeline import BAND_ROWS, Pipeline, Progress, can_stream, stream_u8

log = logging.getLogger(__name__)

__all__ = ["RENDERER_VERSION", "available_backends", "best_backend", "render", "render_u8"]


def _source_version() -> str:
    """A hash of every source that decides the pixels: stored outputs are keyed by it, so a
    renderer change can never serve a file rendered by the old one."""
    root = Path(__file__).resolve().parent
    sources = sorted(
        [
            *root.glob("cuda/*"),
            *root.glob("ops/*.py"),
            *root.glob("backends/*.py"),
            *root.glob("backends/*.cpp"),
            root / "pipeline.py",
            root / "render.py",
            root / "params.py",
        ]
    )
    digest = hashlib.sha256()
    for path in sources:
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


RENDERER_VERSION = _source_version()


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
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Develop `image` (HxWx3 float32, linear Rec.2020, scene-referred) with `settings`.

    size: long edge in pixels, or exact (width, height), after crop; None keeps the crop's size.
    bitmaps: arrays for BitmapMask asset ids. output_transform: roll highlights off and map to
    display-referred [0, 1] (the encoder then applies the output profile). progress(fraction,
    stage) is called as stages start. out: the working buffer (HxWx3 C-contiguous float32);
    pass `image` itself to develop in place and save a full-size buffer. Returns float32 linear
    Rec.2020 (`out` itself when geometry keeps the size); otherwise the input is not modified.
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 image, got shape {image.shape}")
    if image.dtype != np.float32:
        raise TypeError(f"expected float32 linear RGB, got {image.dtype}")
    if out is not None and (
        out.shape != image.shape or out.dtype != np.float32 or not out.flags.c_contiguous
    ):
        raise ValueError("out must be a C-contiguous float32 array shaped like image")
    chosen = get_backend(backend)
    log.info("rendering %dx%d on the %s backend", image.shape[1], image.shape[0], chosen.name)
    pipeline = Pipeline(settings, chosen, bitmaps, size, output_transform, progress, band_rows)
    return pipeline.run(image, out)


def render_u8(
    image8: np.ndarray,
    settings: DevelopSettings,
    *,
    backend: str | Backend = "auto",
    size: int | tuple[int, int] | None = None,
    bitmaps: Mapping[str, np.ndarray] | None = None,
    decode_table: np.ndarray | None = None,
    encode_table: np.ndarray | None = None,
    swap_rb: bool = False,
    progress: Progress | None = None,
    overwrite: bool = False,
) -> np.ndarray:
    """An 8-bit image developed into a new 8-bit image, the shape of a JPEG -> JPEG job.

    decode_table (256 floats) and encode_table (n uint8 for [0, 1]) are the file's and the
    output's transfer curves (default sRGB); swap_rb for BGR codecs. Recipes without
    whole-image stages stream through cache in bands; others decode, render and encode.
    overwrite: the caller is done with image8, and the result may be written into it.
    """
    if image8.ndim != 3 or image8.shape[2] != 3 or image8.dtype != np.uint8:
        raise ValueError("expected an HxWx3 uint8 image")
    dec = transfer.srgb_decode_table() if decode_table is None else decode_table
    enc = transfer.srgb_encode_table() if encode_table is None else encode_table
    chosen = get_backend(backend)
    h, w = image8.shape[:2]
    if can_stream(settings, size):
        log.info("rendering %dx%d 8-bit, streamed, on the %s backend", w, h, chosen.name)
        if progress is not None:
            progress(0.0, "stream")
        result = stream_u8(image8, settings, chosen, dec, enc, swap_rb=swap_rb, overwrite=overwrite)
        if progress is not None:
            progress(1.0, "done")
        return result
    linear = chosen.decode_u8(image8, dec, swap_rb)
    developed = render(
        linear, settings, backend=chosen, size=size, bitmaps=bitmaps, progress=progress, out=linear
    )
    return chosen.encode_u8(developed, enc, swap_rb)
