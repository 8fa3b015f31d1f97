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
from kernels.io import render8
from kernels.ops import geometry
from kernels.params import DevelopSettings

# Bump when this module changes how pixels come out (watermark, sizing). The 8-bit JPEG path
# writes the same pixels as the general one (tests/kernels/io/test_render8.py).
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


@dataclass(frozen=True)
class EightBit:
    """What `develop` takes on the 8-bit path: a file's pixels in their own encoding, to be
    developed straight into 8-bit BGR encoded in `profile`."""

    source: render8.Encoded8
    profile: str
    consume: bool = False  # the caller is done with source.bgr: develop may write into it


def develop(
    rgb: np.ndarray | EightBit,
    settings: DevelopSettings,
    *,
    size: tuple[int, int] | None = None,
    backend: str = "auto",
    progress: Progress | None = None,
) -> np.ndarray:
    """Scene-linear working space in, display-referred linear Rec.2020 out, at `size`. Given
    an `EightBit` source, 8-bit BGR in its profile out (decode, develop and the output
    conversion streamed through cache in bands where the recipe allows)."""
    if isinstance(rgb, EightBit):
        return render8.develop_8bit(
            rgb.source,
            settings,
            profile=rgb.profile,
            backend=backend,
            size=size,
            consume=rgb.consume,
            progress=None if progress is None else (lambda fraction, _stage: progress(fraction)),
        )
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
    if _eight_bit_export(options):
        source = render8.decode_8bit(data)
        if source is not None:
            return _render_8bit(source, settings, options, backend, tell)
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


def _eight_bit_export(options: RenderOptions) -> bool:
    """Exports that need nothing but 8 bits at either end: JPEG, no watermark (it blends in
    float). Their source must also be a 3-component JPEG with a matrix-shaper profile or none
    (render8.decode_8bit says)."""
    return (
        options.format.lower() in ("jpeg", "jpg")
        and options.bit_depth == 8
        and not (options.watermark)
    )


def _render_8bit(
    source: render8.Encoded8,
    settings: DevelopSettings,
    options: RenderOptions,
    backend: str,
    tell: Callable[[str, float], None],
) -> bytes:
    """The JPEG -> JPEG chain without a full-size float image: the same pixels as the general
    path (kernels/io/render8.py), about twice as fast."""
    height, width = source.bgr.shape[:2]
    size: tuple[int, int] | None = output_size(
        width,
        height,
        long_edge=options.long_edge,
        box_width=options.width,
        box_height=options.height,
        cap=options.cap,
    )
    if size == (width, height) and geometry.is_identity(settings.geometry, settings.lens):
        size = None  # the same output as asking for the full size, and it can stream
    tell("rendering", 0.0)
    out8 = develop(
        EightBit(source, options.profile, consume=True),  # only source.exif is read after
        settings,
        size=size,
        backend=backend,
        progress=lambda f: tell("rendering", f),
    )
    tell("encoding", 0.0)
    return kio.encode_8bit(
        out8,
        bgr=True,
        quality=options.quality,
        profile=options.profile,
        metadata_policy=options.metadata_policy,
        metadata_source=source.exif,
    )
