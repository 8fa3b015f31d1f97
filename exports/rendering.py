"""The one adapter between jobs and the imaging kernels: decode → develop → encode.

Nothing here imports Django: the CLI, workers and the bench all use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from kernels import io as kio
from kernels import render as kernel_render
from kernels.params import DevelopSettings

# Bump when this module changes how pixels come out (watermark, sizing).
ADAPTER_VERSION = "2"

Progress = Callable[[float], None]


def renderer_version() -> str:
    """Part of every stored output's key: a new renderer never serves an old file."""
    return f"k{kernel_render.RENDERER_VERSION}.a{ADAPTER_VERSION}"


def best_backend() -> str:
    return str(kernel_render.best_backend())


def output_size(
    width: int,
    height: int,
    *,
    long_edge: int | None = None,
    box_width: int | None = None,
    box_height: int | None = None,
    cap: int | None = None,
) -> tuple[int, int]:
    """The output size: fit inside what was asked (never upscaled), then inside `cap`."""
    scale = 1.0
    if long_edge:
        scale = min(scale, long_edge / max(width, height))
    if box_width:
        scale = min(scale, box_width / width)
    if box_height:
        scale = min(scale, box_height / height)
    if cap:
        scale = min(scale, cap / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def develop(
    rgb: np.ndarray,
    settings: DevelopSettings,
    *,
    size: tuple[int, int] | None = None,
    backend: str = "auto",
    progress: Progress | None = None,
) -> np.ndarray:
    """Scene-linear working space in, display-referred linear Rec.2020 out, at `size`."""
    out = kernel_render.render(
        rgb,
        settings,
        backend=backend,
        size=size,
        progress=None if progress is None else (lambda fraction, _stage: progress(fraction)),
    )
    return np.asarray(out, dtype=np.float32)


@lru_cache(maxsize=8)
def _watermark_mask(width: int, height: int) -> np.ndarray:
    """A fixed "ORLUME" mark, bottom right, about a sixth of the width: the same for the same
    size, so watermarked outputs stay deterministic."""
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    size = max(8, min(width // 12, height // 6))
    font = ImageFont.load_default(size=size)
    text = "ORLUME"
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    margin = max(2, size // 3)
    x = max(0, width - (right - left) - margin)
    y = max(0, height - (bottom - top) - margin)
    draw.rectangle((x - margin // 2, y - margin // 2, width, height), fill=90)
    draw.text((x - left, y - top), text, font=font, fill=230)
    return np.asarray(mask, dtype=np.float32) / 255.0


def watermark(rgb: np.ndarray) -> np.ndarray:
    """Blends the mark (white) over a display-referred image."""
    alpha = _watermark_mask(rgb.shape[1], rgb.shape[0])[..., None]
    return (rgb * (1.0 - alpha) + alpha * 0.9).astype(np.float32)


@dataclass(frozen=True)
class RenderOptions:
    format: str = "jpeg"
    quality: int = 90
    bit_depth: int = 8
    profile: str = "srgb"
    metadata_policy: str = "copyright_and_camera"
    long_edge: int | None = None
    width: int | None = None
    height: int | None = None
    cap: int | None = None  # the plan's long edge
    watermark: bool = False


Stage = Callable[[str, float], None]


def render_file(
    data: bytes,
    settings: DevelopSettings,
    options: RenderOptions,
    *,
    backend: str = "auto",
    stage: Stage | None = None,
) -> bytes:
    """The whole chain on one file's bytes. `stage(name, fraction)` is told where it is."""

    def tell(name: str, fraction: float = 0.0) -> None:
        if stage is not None:
            stage(name, fraction)

    tell("decoding")
    decoded = kio.decode(data)
    height, width = decoded.rgb.shape[:2]
    size = output_size(
        width,
        height,
        long_edge=options.long_edge,
        box_width=options.width,
        box_height=options.height,
        cap=options.cap,
    )
    tell("rendering")
    out = develop(
        decoded.rgb,
        settings,
        size=size,
        backend=backend,
        progress=lambda f: tell("rendering", f),
    )
    if options.watermark:
        out = watermark(out)
    tell("encoding")
    return kio.encode(
        out,
        format=options.format,
        quality=options.quality,
        bit_depth=options.bit_depth,
        profile=options.profile,
        metadata_policy=options.metadata_policy,
        metadata_source=decoded.exif,
    )
