"""Encode working-space pixels (linear Rec.2020 float32) into export files with their profile."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from . import jpeg_strips, png_parallel, tiff
from .colour import OUTPUT_PROFILES, Encoding, encoding
from .convert import from_working
from .icc import build_profile
from .metadata import MetadataPolicy, export_exif, text_tags
from .png16 import write_png16

FORMATS = ("jpeg", "png", "tiff", "webp", "avif")
SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}


def encode(
    image: np.ndarray,
    *,
    format: str,
    quality: int = 90,
    bit_depth: int = 8,
    profile: str = "srgb",
    progressive: bool = False,
    subsampling: str = "4:2:0",
    lossless: bool = False,
    metadata_policy: MetadataPolicy | str = MetadataPolicy.COPYRIGHT_AND_CAMERA,
    metadata_source: bytes | None = None,
    strip_location: bool = True,
    alpha: np.ndarray | None = None,
    dither: bool = True,
    effort: int | None = None,
) -> bytes:
    """Convert to `profile` (srgb, display-p3, adobe-rgb), quantise (8-bit is dithered) and
    write `format`. 16-bit: png, tiff. 32-bit float: tiff (linear light, linear profile).
    `metadata_source` is the original's EXIF (DecodedImage.exif). `effort` trades speed for
    size: PNG zlib level (default 6), WebP method (default 4), AVIF speed (default 6)."""
    fmt = {"jpg": "jpeg", "tif": "tiff"}.get(format.lower(), format.lower())
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    if profile not in OUTPUT_PROFILES:
        raise ValueError(f"profile must be one of {OUTPUT_PROFILES}")
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.float32:
        raise ValueError("encode takes HxWx3 float32 in the working space")
    allowed = {"png": (8, 16), "tiff": (8, 16, 32)}.get(fmt, (8,))
    if bit_depth not in allowed:
        raise ValueError(f"{fmt} exports at {allowed} bits, not {bit_depth}")
    if subsampling not in SUBSAMPLING:
        raise ValueError(f"subsampling must be one of {tuple(SUBSAMPLING)}")

    linear_out = bit_depth == 32
    enc = encoding(f"linear-{profile}" if linear_out else profile)
    if fmt == "jpeg":
        # Through OpenCV (kernels/io/jpeg.py), which takes BGR: the conversion pass writes it
        # so, strip by strip on the thread that encodes the strip (kernels/io/jpeg_strips.py).
        # JPEG has no alpha: it is dropped (flattening is the caller's choice, not ours).
        def produce(top: int, end: int, parallel: bool) -> np.ndarray:
            band = image[top:end]
            return from_working(
                band, enc, 8, dither=dither, swap_rb=True, y0=top, parallel=parallel
            )

        return _jpeg(
            produce,
            image.shape[:2],
            quality=quality,
            profile=profile,
            progressive=progressive,
            subsampling=subsampling,
            exif=export_exif(metadata_source, metadata_policy, strip_location=strip_location),
        )
    icc = build_profile(profile, linear=linear_out)
    exif = export_exif(metadata_source, metadata_policy, strip_location=strip_location)
    big = image.shape[0] * image.shape[1] >= png_parallel.PARALLEL_MIN_PIXELS
    if fmt == "png" and bit_depth == 8 and big and png_parallel.available():
        level = effort if effort is not None else 6
        return _png8_in_chunks(image, enc, alpha, dither=dither, level=level, icc=icc, exif=exif)
    pixels = from_working(image, enc, bit_depth, dither=dither)
    if alpha is not None:
        pixels = np.dstack([pixels, _quantise_alpha(alpha, pixels.dtype)])

    if bit_depth in (16, 32):
        if fmt == "png":
            return write_png16(pixels, icc_profile=icc, exif=exif, level=effort or 6)
        return tiff.write_rgb(
            pixels, icc_profile=icc, text_tags=text_tags(metadata_source, metadata_policy)
        )
    im = Image.fromarray(pixels, "RGBA" if alpha is not None else "RGB")
    opts: dict[str, object] = {"icc_profile": icc}
    if exif:
        opts["exif"] = exif
    if fmt == "png":
        opts.update(compress_level=effort if effort is not None else 6)
    elif fmt == "tiff":
        opts.update(compression="tiff_adobe_deflate")
    elif fmt == "webp":
        opts.update(quality=quality, lossless=lossless, method=effort if effort is not None else 4)
        if lossless:
            opts["exact"] = True
    elif fmt == "avif":
        opts.update(quality=quality, speed=effort if effort is not None else 6)
        opts["subsampling"] = subsampling
    buf = io.BytesIO()
    im.save(buf, format=fmt.upper(), **opts)
    return buf.getvalue()


def encode_8bit(
    pixels: np.ndarray,
    *,
    bgr: bool,
    format: str = "jpeg",
    quality: int = 90,
    profile: str = "srgb",
    progressive: bool = False,
    subsampling: str = "4:2:0",
    metadata_policy: MetadataPolicy | str = MetadataPolicy.COPYRIGHT_AND_CAMERA,
    metadata_source: bytes | None = None,
    strip_location: bool = True,
) -> bytes:
    """Write HxWx3 uint8 pixels already encoded in `profile` (what `encode` makes of the
    working space before it writes a JPEG): the profile and EXIF policy as in `encode`.
    bgr: channel order of `pixels`. JPEG only."""
    if format not in ("jpeg", "jpg"):
        raise ValueError("encode_8bit writes JPEG")
    if profile not in OUTPUT_PROFILES:
        raise ValueError(f"profile must be one of {OUTPUT_PROFILES}")
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ValueError("encode_8bit takes HxWx3 uint8")
    if subsampling not in SUBSAMPLING:
        raise ValueError(f"subsampling must be one of {tuple(SUBSAMPLING)}")

    def produce(top: int, end: int, parallel: bool) -> np.ndarray:
        band = pixels[top:end]
        return band if bgr else np.ascontiguousarray(band[..., ::-1])

    return _jpeg(
        produce,
        pixels.shape[:2],
        quality=quality,
        profile=profile,
        progressive=progressive,
        subsampling=subsampling,
        exif=export_exif(metadata_source, metadata_policy, strip_location=strip_location),
    )


def _jpeg(
    produce: jpeg_strips.Producer,
    size: tuple[int, ...],
    *,
    quality: int,
    profile: str,
    progressive: bool,
    subsampling: str,
    exif: bytes | None,
) -> bytes:
    """The one JPEG writer behind `encode` and `encode_8bit`, so both give the same bytes."""
    return jpeg_strips.encode_bands(
        produce,
        size[0],
        size[1],
        quality=quality,
        progressive=progressive,
        subsampling=subsampling,
        icc_profile=build_profile(profile),
        exif=exif,
    )


def _png8_in_chunks(
    image: np.ndarray,
    enc: Encoding,
    alpha: np.ndarray | None,
    *,
    dither: bool,
    level: int,
    icc: bytes,
    exif: bytes | None,
) -> bytes:
    """8-bit PNG in chunks on every core (kernels/io/png_parallel.py), each chunk converted
    where it is filtered and deflated."""

    def produce(top: int, end: int, parallel: bool) -> np.ndarray:
        band = from_working(image[top:end], enc, 8, dither=dither, y0=top, parallel=parallel)
        if alpha is None:
            return band
        return np.dstack([band, _quantise_alpha(alpha[top:end], band.dtype)])

    height, width = image.shape[:2]
    channels = 3 if alpha is None else 4
    return png_parallel.encode(
        produce, height, width, channels, level=level, icc_profile=icc, exif=exif
    )


def _quantise_alpha(alpha: np.ndarray, dtype: np.dtype) -> np.ndarray:
    a = np.asarray(alpha, dtype=np.float32)
    if dtype == np.uint8:
        return (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)
    if dtype == np.uint16:
        return (np.clip(a, 0, 1) * 65535 + 0.5).astype(np.uint16)
    return a
