"""8-bit file in, 8-bit file out, developed on the way: the JPEG -> JPEG export without a
full-size float image or NumPy conversions.

`kernels.render.render_u8` streams a recipe through cache in bands, but its 8-bit ends are a
transfer curve only (no primaries), so alone it would develop in the file's primaries instead
of the working space. `ManagedEnds` wraps a backend and replaces those two ends with kernels.io's
colour-managed conversions (profile curve + matrix to linear Rec.2020 in; matrix, gamut clip,
output curve and the same dither as `encode` out, kernels/io/convert_loops.cpp), delegating
every other primitive. The result equals decode -> render -> encode (see
tests/kernels/io/test_render8.py for the tolerance).

What should move into kernels (their owners' call): render_u8 taking a 3x3 matrix for each
end and a dither, which would make this wrapper unnecessary.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from kernels.backends import get_backend
from kernels.backends.base import Backend, U8Ends
from kernels.ops.stage import PixelStage
from kernels.params import DevelopSettings, Mask
from kernels.pipeline import Progress

from . import jpeg, jpeg_split
from .colour import Encoding, encoding
from .convert import from_working, to_working, u8_ends
from .decode import orient
from .icc import NotMatrixShaper, encoding_for_profile
from .probe import DEFAULT_MAX_PIXELS, probe_bytes
from .sources import Source, read_source
from .types import ImageInfo


@dataclass(frozen=True)
class Encoded8:
    """A decoded file still in its own 8-bit encoding: upright BGR pixels and that encoding."""

    bgr: np.ndarray
    encoding: Encoding
    info: ImageInfo
    exif: bytes | None


def decode_8bit(source: Source, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Encoded8 | None:
    """The file as 8-bit pixels plus the encoding that turns them into the working space, or
    None when it cannot be had without the general decode: not a 3-component JPEG, or a
    profile that is not a matrix-shaper (LittleCMS converts those)."""
    data = read_source(source)
    info = probe_bytes(data, max_pixels, False)
    if info.format != "jpeg" or not jpeg.fast_path(data):
        return None
    with Image.open(io.BytesIO(data)) as im:
        exif = im.info.get("exif") or None
        icc = im.info.get("icc_profile") or None
    try:
        enc = encoding_for_profile(icc) if icc else encoding("srgb")
    except NotMatrixShaper:
        return None
    bgr = jpeg_split.decode_bgr(data)  # in strips on every core where it can be
    bgr = orient(jpeg.decode_bgr(data) if bgr is None else bgr, info.orientation)
    return Encoded8(bgr=bgr, encoding=enc, info=info, exif=exif)


class ManagedEnds(Backend):
    """`inner` with kernels.io's colour-managed 8-bit ends (the tables passed are ignored):
    decode_u8 takes `source`-encoded pixels to linear Rec.2020, encode_u8 takes linear
    Rec.2020 to `target`, dithered as `encode` dithers. encode_u8 assumes each call starts at
    an image row that is a multiple of 32 (render_u8's bands are 64 rows) so the dither lines
    up with a whole-image encode; elsewhere it still only moves codes by at most one."""

    def __init__(
        self, inner: Backend, source: Encoding, target: Encoding, *, dither: bool = True
    ) -> None:
        self.inner, self.source, self.target, self.dither = inner, source, target, dither
        self.name = inner.name

    def decode_u8(self, img8: np.ndarray, table: np.ndarray, swap_rb: bool = False) -> np.ndarray:
        return to_working(img8, self.source, swap_rb=swap_rb)

    def encode_u8(self, img: np.ndarray, table: np.ndarray, swap_rb: bool = False) -> np.ndarray:
        return from_working(img, self.target, 8, dither=self.dither, swap_rb=swap_rb)

    def u8_ends(self, decode_table: np.ndarray, encode_table: np.ndarray, width: int) -> U8Ends:
        return u8_ends(self.source, self.target, width, dither=self.dither)

    def pixel_stages_u8(
        self,
        src: np.ndarray,
        out: np.ndarray,
        stages: Sequence[PixelStage],
        ends: U8Ends,
        swap_rb: bool = False,
        y0: int = 0,
    ) -> None:
        self.inner.pixel_stages_u8(src, out, stages, ends, swap_rb, y0)

    @property
    def has_u8_pass(self) -> bool:  # type: ignore[override]
        return self.inner.has_u8_pass

    # Everything else is the inner backend's.
    def pixel_stages(
        self, rgb: np.ndarray, stages: Sequence[PixelStage], x0: int = 0, y0: int = 0
    ) -> np.ndarray:
        return self.inner.pixel_stages(rgb, stages, x0, y0)

    def pixel_stages_into(
        self, src: np.ndarray, out: np.ndarray, stages: Sequence[PixelStage], x0: int, y0: int
    ) -> None:
        if not stages:  # the CPU backend's fused pass refuses an empty list (render_u8 bug)
            if out is not src:
                out[...] = src
            return
        self.inner.pixel_stages_into(src, out, stages, x0, y0)

    def masked_pixel_stages_into(
        self,
        src: np.ndarray,
        out: np.ndarray,
        stages: Sequence[PixelStage],
        x0: int,
        y0: int,
        weight: np.ndarray,
    ) -> None:
        self.inner.masked_pixel_stages_into(src, out, stages, x0, y0, weight)

    def mask_coverage(
        self,
        mask: Mask,
        rgb: np.ndarray,
        y0: int,
        full_w: int,
        full_h: int,
        bitmaps: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        return self.inner.mask_coverage(mask, rgb, y0, full_w, full_h, bitmaps)

    def convolve(self, img: np.ndarray, kx: np.ndarray, ky: np.ndarray) -> np.ndarray:
        return self.inner.convolve(img, kx, ky)

    def min_filter(self, img: np.ndarray, radius: int) -> np.ndarray:
        return self.inner.min_filter(img, radius)

    def bilateral(
        self, img: np.ndarray, radius: int, sigma_s: float, sigma_luma: float, sigma_chroma: float
    ) -> np.ndarray:
        return self.inner.bilateral(img, radius, sigma_s, sigma_luma, sigma_chroma)

    def warp(
        self, img: np.ndarray, params: np.ndarray, out_h: int, out_w: int, y0: int = 0
    ) -> np.ndarray:
        return self.inner.warp(img, params, out_h, out_w, y0)

    def resize_axis(self, img: np.ndarray, size: int, axis: int) -> np.ndarray:
        return self.inner.resize_axis(img, size, axis)

    def luma(self, rgb: np.ndarray) -> np.ndarray:
        return self.inner.luma(rgb)

    def local_contrast(
        self,
        rgb: np.ndarray,
        y0: int,
        coefficients: np.ndarray,
        params: np.ndarray,
        inplace: bool = False,
    ) -> np.ndarray:
        return self.inner.local_contrast(rgb, y0, coefficients, params, inplace)

    def dehaze(
        self,
        rgb: np.ndarray,
        y0: int,
        transmission: np.ndarray,
        params: np.ndarray,
        inplace: bool = False,
    ) -> np.ndarray:
        return self.inner.dehaze(rgb, y0, transmission, params, inplace)

    def sharpen(
        self,
        rgb: np.ndarray,
        blurred_luma: np.ndarray,
        params: np.ndarray,
        row_offset: int = 0,
        inplace: bool = False,
    ) -> np.ndarray:
        return self.inner.sharpen(rgb, blurred_luma, params, row_offset, inplace)


def develop_8bit(
    source: Encoded8,
    settings: DevelopSettings,
    *,
    profile: str = "srgb",
    backend: str | Backend = "auto",
    size: int | tuple[int, int] | None = None,
    bitmaps: Mapping[str, np.ndarray] | None = None,
    dither: bool = True,
    progress: Progress | None = None,
    consume: bool = False,
) -> np.ndarray:
    """`source` developed with `settings` into 8-bit BGR encoded in `profile` (an output
    profile of `encode`): what encode(render(decode(file))) would write, before the codec.
    consume: the caller is done with source.bgr, and the result may be written into it."""
    from kernels.render import render_u8

    ends = ManagedEnds(get_backend(backend), source.encoding, encoding(profile), dither=dither)
    return render_u8(
        source.bgr,
        settings,
        backend=ends,
        size=size,
        bitmaps=bitmaps,
        swap_rb=True,
        progress=progress,
        overwrite=consume,
    )
