"""Decode any supported file into the working space (linear Rec.2020 float32, alpha apart)."""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from typing import Any

import numpy as np
import pillow_heif
from PIL import Image, ImageCms

from . import jpeg, jpeg_split, tiff
from .colour import encoding
from .convert import to_working
from .errors import CorruptImage, ImageIOError, UnsupportedFormat
from .icc import NotMatrixShaper, encoding_for_profile
from .png16 import png_header, read_png16
from .probe import DEFAULT_MAX_PIXELS, probe_bytes
from .raw import decode_raw
from .sources import Source, read_source
from .types import RAW_FORMATS, DecodedImage, ImageInfo, RawOptions


def orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) so rows run top to bottom as the photographer saw."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, k=-1),
        7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
        8: lambda a: np.rot90(a, k=1),
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(pixels)) if op else pixels


def decode(
    source: Source,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    raw_options: RawOptions | None = None,
    size_hint: int | None = None,
    allow_multi_frame: bool = False,
) -> DecodedImage:
    """Decode the first frame of `source`. `size_hint` (a long edge in pixels) lets JPEG and RAW
    decode at a reduced scale no smaller than it, for proxies and previews."""
    data = read_source(source)
    info = probe_bytes(data, max_pixels, allow_multi_frame)
    try:
        return _decode(data, info, raw_options or RawOptions(), size_hint)
    except ImageIOError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        from .errors import ImageTooLarge

        raise ImageTooLarge(str(e)) from e
    except (OSError, SyntaxError, ValueError, struct.error, EOFError, zlib.error) as e:
        raise CorruptImage(f"the {info.format.upper()} image data cannot be decoded: {e}") from e


def _decode(data: bytes, info: ImageInfo, raw: RawOptions, size_hint: int | None) -> DecodedImage:
    if info.format in RAW_FORMATS:
        if size_hint and size_hint * 2 <= max(info.width, info.height):
            raw = RawOptions(raw.demosaic, raw.highlights, raw.use_camera_wb, half_size=True)
        rgb = decode_raw(data, info.format, raw)
        return DecodedImage(rgb=rgb, alpha=None, info=info, exif=None)
    exif: bytes | None = None
    icc = info.icc_profile
    bgr = False
    if info.format == "jpeg" and jpeg.fast_path(data):
        exif, icc, scale = _jpeg_meta(data, size_hint)
        strips = _jpeg_in_strips(data, icc, info.orientation) if scale == 1 else None
        if strips is not None:
            return DecodedImage(rgb=strips, alpha=None, info=info, exif=exif)
        pixels, alpha, bgr = jpeg.decode_bgr(data, scale), None, True
    elif info.format == "png" and png_header(data)[2] == 16 and png_header(data)[3] in (2, 4, 6):
        pixels, alpha = read_png16(data)
    elif info.format == "tiff" and info.bit_depth in (16, 32):
        pixels, alpha = tiff.read_rgb(data, tiff.first_ifd(data))
        if info.bit_depth == 32 and not icc:
            icc = None  # untagged float TIFF: linear sRGB primaries (see _encoding_for)
    elif info.format == "heic":
        pixels, alpha, exif = _decode_heic(data)
    else:
        pixels, alpha, exif, icc = _decode_pillow(data, info, size_hint)
    orientation = info.orientation if info.format not in ("heic", "avif") else 1
    pixels = orient(pixels, orientation)
    if alpha is not None:
        alpha = orient(alpha, orientation)
    rgb = _to_working(pixels, icc, float_linear=pixels.dtype == np.float32, swap_rb=bgr)
    return DecodedImage(rgb=rgb, alpha=_alpha_float(alpha), info=info, exif=exif)


def _alpha_float(alpha: np.ndarray | None) -> np.ndarray | None:
    if alpha is None:
        return None
    if alpha.dtype == np.uint8:
        return alpha.astype(np.float32) / np.float32(255)
    if alpha.dtype == np.uint16:
        return alpha.astype(np.float32) / np.float32(65535)
    return alpha.astype(np.float32, copy=False)


def _to_working(
    pixels: np.ndarray, icc: bytes | None, *, float_linear: bool, swap_rb: bool = False
) -> np.ndarray:
    """Encoded pixels (BGR when swap_rb) in the profile `icc` (None: sRGB) -> working space."""
    if not icc:
        enc = encoding("linear-srgb" if float_linear else "srgb")
        return to_working(pixels, enc, swap_rb=swap_rb)
    try:
        return to_working(pixels, encoding_for_profile(icc), swap_rb=swap_rb)
    except NotMatrixShaper:
        rgb = np.ascontiguousarray(pixels[..., ::-1]) if swap_rb else pixels
        return to_working(_littlecms_to_srgb(rgb, icc), encoding("srgb"))


def _jpeg_meta(data: bytes, size_hint: int | None) -> tuple[bytes | None, bytes | None, int]:
    """A 3-component JPEG's EXIF and ICC from the headers (Image.open reads no pixels) and the
    DCT scaling Pillow's draft would use for size_hint (1: full size)."""
    with Image.open(io.BytesIO(data)) as im:
        exif = im.info.get("exif") or None
        icc = im.info.get("icc_profile") or None
        scale = 1
        if size_hint:
            w, h = im.size
            s = size_hint / max(w, h)
            if s < 1:
                requested = (max(1, round(w * s)), max(1, round(h * s)))
                scale = jpeg.draft_scale((w, h), requested)
    return exif, icc, scale


def _jpeg_in_strips(data: bytes, icc: bytes | None, orientation: int) -> np.ndarray | None:
    """The working-space image of a large JPEG decoded in strips on every core
    (kernels/io/jpeg_split.py), each strip converted on the thread that decoded it; None where
    that path does not apply (the caller decodes the file whole)."""
    try:
        enc = encoding_for_profile(icc) if icc else encoding("srgb")
    except NotMatrixShaper:
        return None  # LittleCMS converts the whole image
    if orientation not in (0, 1):  # rotate the 8-bit pixels, then convert them
        bgr = jpeg_split.decode_bgr(data)
        return None if bgr is None else to_working(orient(bgr, orientation), enc, swap_rb=True)
    head = jpeg.header(data)
    rgb = np.empty((head.height, head.width, 3), np.float32)

    def sink(top: int, bgr: np.ndarray) -> None:
        to_working(bgr, enc, swap_rb=True, parallel=False, out=rgb[top : top + len(bgr)])

    return rgb if jpeg_split.decode_bands(data, sink) else None


def _littlecms_to_srgb(pixels: np.ndarray, icc: bytes) -> np.ndarray:
    """LUT-based or otherwise unusual profiles: let LittleCMS map them to sRGB (8-bit)."""
    if pixels.dtype != np.uint8:
        scale = 255 / (65535 if pixels.dtype == np.uint16 else 1)
        pixels = np.clip(pixels * scale + 0.5, 0, 255).astype(np.uint8)
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (OSError, ImageCms.PyCMSError) as e:
        raise CorruptImage(f"the embedded ICC profile is unreadable: {e}") from e
    dst = ImageCms.createProfile("sRGB")
    out = ImageCms.profileToProfile(Image.fromarray(pixels, "RGB"), src, dst, outputMode="RGB")
    assert out is not None
    return np.asarray(out)


def _decode_pillow(
    data: bytes, info: ImageInfo, size_hint: int | None
) -> tuple[np.ndarray, np.ndarray | None, bytes | None, bytes | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        im: Image.Image = Image.open(io.BytesIO(data))
    with im:
        exif = im.info.get("exif") or None
        icc = im.info.get("icc_profile") or None
        if size_hint and info.format == "jpeg":
            w, h = im.size
            scale = size_hint / max(w, h)
            if scale < 1:
                im.draft("RGB", (max(1, round(w * scale)), max(1, round(h * scale))))
        mode = im.mode
        if mode == "CMYK" and icc:
            # CMYK profiles are LUT-based: LittleCMS converts, then the image is sRGB.
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(
                im, src, ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
            assert converted is not None
            im = converted
            icc = None
            mode = "RGB"
        if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
            gray = np.asarray(im).astype(np.uint16)
            return np.repeat(gray[..., None], 3, axis=2), None, exif, _rgb_icc(icc)
        if mode == "F":
            gray_f = np.asarray(im).astype(np.float32)
            return np.repeat(gray_f[..., None], 3, axis=2), None, exif, _rgb_icc(icc)
        has_alpha = "A" in mode or "transparency" in im.info
        target = "RGBA" if has_alpha else "RGB"
        if mode in ("L", "LA") and icc and icc[16:20] == b"GRAY":
            icc = None  # gray curve ~ sRGB; a neutral stays neutral in any D65 space
        if mode != target:
            im = im.convert(target)
        arr = np.asarray(im)
    if has_alpha:
        return np.ascontiguousarray(arr[..., :3]), np.ascontiguousarray(arr[..., 3]), exif, icc
    return arr, None, exif, icc


def _rgb_icc(icc: bytes | None) -> bytes | None:
    return icc if icc and icc[16:20] == b"RGB " else None


def _decode_heic(data: bytes) -> tuple[np.ndarray, np.ndarray | None, bytes | None]:
    try:
        heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=False)
        img = heif[heif.primary_index]
        meta: dict[str, Any] = dict(img.info)
        arr = np.asarray(img)
    except (ValueError, RuntimeError) as e:
        raise CorruptImage(f"the HEIC image cannot be decoded: {e}") from e
    # 10/12-bit HEIC arrives as uint16 scaled to the full 16-bit range.
    exif = meta.get("exif") or None
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise UnsupportedFormat("HEIC with this channel layout is not supported")
    alpha = np.ascontiguousarray(arr[..., 3]) if arr.shape[2] == 4 else None
    return np.ascontiguousarray(arr[..., :3]), alpha, exif
