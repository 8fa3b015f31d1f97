"""Thumbnails and proxies without decoding the full file more than once.

Thumbnail: JPEG DCT scaling (libjpeg scales by 1/2..1/8 inside the IDCT; OpenCV, kernels/io/jpeg.py;
at 1/8 our own DC-only decoder on every core, kernels/io/jpeg_dc.py), RAW embedded previews,
then a cheap resize in the encoded domain (fine at 512 px) and an sRGB JPEG.

Proxy: linear Rec.2020 at a 2048 px long edge, downsampled in linear light, stored next to the
original as `<original>.proxy.npz` (uncompressed NumPy archive: `rgb` float16 HxWx3 and `key`,
UTF-8 JSON of {version, size, mtime_ns, long_edge} of the original). A stale or foreign key
means rebuild. float16 keeps ~3 significant digits, enough for previews, at half the bytes.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor, wait
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from . import jpeg
from .colour import encoding
from .convert import from_working
from .decode import decode, orient
from .icc import build_profile
from .probe import DEFAULT_MAX_PIXELS, probe_bytes
from .raw import embedded_preview
from .sources import Source, read_source
from .types import RAW_FORMATS

PROXY_VERSION = 1


@cache
def _decoders() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="kernels-io-thumb")


def _early_jpeg_decode(
    data: bytes, long_edge: int, max_pixels: int
) -> tuple[tuple[int, int], Future[np.ndarray]] | None:
    """Start the reduced-size decode of a 3-component JPEG on another thread (OpenCV releases
    the GIL) so that it overlaps the probe, once the frame header's size is within the limit:
    the probe's remaining checks (polyglot scan, EXIF, frames) only decide whether the pixels
    are used. None for anything else."""
    if data[:3] != b"\xff\xd8\xff":
        return None
    head = jpeg.header(data)
    size = (head.width, head.height)
    if not jpeg.fast_path(data, head) or not 0 < size[0] * size[1] <= max_pixels:
        return None
    scale = jpeg.draft_scale(size, _draft_size(size, long_edge))
    return size, _decoders().submit(jpeg.decode_reduced, data, scale, head)


def make_thumbnail(
    source: Source, long_edge: int = 512, *, quality: int = 85, max_pixels: int = DEFAULT_MAX_PIXELS
) -> bytes:
    """A small upright sRGB JPEG for grids and previews."""
    data = read_source(source)
    early = _early_jpeg_decode(data, long_edge, max_pixels)
    try:
        info = probe_bytes(data, max_pixels, False)
    except BaseException:
        if early:  # refused: wait for the decode (bounded by the size check), drop its pixels
            wait([early[1]])
        raise
    im: Image.Image | None = None
    if info.format in RAW_FORMATS:
        preview = embedded_preview(data, info.format)
        if isinstance(preview, bytes):
            im = Image.open(io.BytesIO(preview))
            im.draft("RGB", _draft_size(im.size, long_edge))
            im = _shrink(im.convert("RGB"), long_edge)
            arr = orient(np.asarray(im), info.orientation)  # previews are stored unrotated
            return _jpeg_srgb8(arr, quality)
    if early and early[0] != (info.width, info.height):  # a header Pillow reads otherwise
        wait([early[1]])
        early = None
    if info.format == "jpeg" and (early or jpeg.fast_path(data)):
        # A reduced-size decode (Pillow's draft scale), area resize.
        size = (info.width, info.height)
        if early:
            bgr = early[1].result()
        else:
            bgr = jpeg.decode_reduced(data, jpeg.draft_scale(size, _draft_size(size, long_edge)))
        bgr = orient(_shrink_area(bgr, long_edge), info.orientation)
        icc = info.icc_profile
        if icc and info.colour_space != "srgb":
            return _jpeg_from_working(_tagged_to_working(bgr[..., ::-1], icc), quality)
        return jpeg.encode_bgr(bgr, quality=quality, icc_profile=build_profile("srgb"))
    if info.format == "jpeg":
        with Image.open(io.BytesIO(data)) as src:
            src.draft("RGB", _draft_size(src.size, long_edge))
            icc = src.info.get("icc_profile")
            im = _shrink(src.convert("RGB"), long_edge)
        arr = orient(np.asarray(im), info.orientation)
        if icc and info.colour_space != "srgb":
            return _jpeg_from_working(_tagged_to_working(arr, icc), quality)
        return _jpeg_srgb8(arr, quality)
    decoded = decode(data, max_pixels=max_pixels, size_hint=long_edge)
    return _jpeg_from_working(_resize_linear(decoded.rgb, long_edge), quality)


def _draft_size(size: tuple[int, int], long_edge: int) -> tuple[int, int]:
    scale = long_edge / max(size)
    return max(1, int(size[0] * scale)), max(1, int(size[1] * scale))


def _shrink(im: Image.Image, long_edge: int) -> Image.Image:
    if max(im.size) > long_edge:
        im.thumbnail((long_edge, long_edge), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return im


def _shrink_area(pixels: np.ndarray, long_edge: int) -> np.ndarray:
    """Pixel-area averaging down to long_edge (after DCT scaling the factor is small; area
    averaging is the right filter for it and ~3x cheaper than Lanczos here)."""
    h, w = pixels.shape[:2]
    scale = long_edge / max(h, w)
    if scale >= 1:
        return pixels
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)


def _tagged_to_working(arr: np.ndarray, icc: bytes) -> np.ndarray:
    from .decode import _to_working

    return _to_working(arr, icc, float_linear=False)


def _jpeg_srgb8(arr: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(
        buf, "JPEG", quality=quality, icc_profile=build_profile("srgb")
    )
    return buf.getvalue()


def _jpeg_from_working(rgb: np.ndarray, quality: int) -> bytes:
    return _jpeg_srgb8(from_working(rgb, encoding("srgb"), 8), quality)


def _resize_linear(rgb: np.ndarray, long_edge: int) -> np.ndarray:
    """Downsample in linear light (Pillow's float mode, per channel): averaging encoded values
    would darken fine bright detail."""
    h, w, _ = rgb.shape
    scale = long_edge / max(h, w)
    if scale >= 1:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    chans = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(rgb[..., c]), "F").resize(
                size, Image.Resampling.LANCZOS, reducing_gap=2.0
            )
        )
        for c in range(3)
    ]
    return np.stack(chans, axis=2)


def make_proxy(source: Source, long_edge: int = 2048, *, dtype: type = np.float16) -> np.ndarray:
    """Linear Rec.2020 HxWx3 at `long_edge`, decoded at reduced scale where the format allows."""
    decoded = decode(source, size_hint=long_edge)
    return _resize_linear(decoded.rgb, long_edge).astype(dtype)


def proxy_path(original: str | os.PathLike[str]) -> Path:
    p = Path(original)
    return p.with_name(p.name + ".proxy.npz")


def _key(original: Path, long_edge: int) -> bytes:
    st = original.stat()
    return json.dumps(
        {
            "version": PROXY_VERSION,
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "long_edge": long_edge,
        },
        sort_keys=True,
    ).encode()


def save_proxy(path: str | os.PathLike[str], proxy: np.ndarray, key: bytes) -> None:
    """Atomic (temp file + rename): a reader never sees half a proxy."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, rgb=proxy.astype(np.float16), key=np.frombuffer(key, dtype=np.uint8))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_proxy(path: str | os.PathLike[str], key: bytes | None = None) -> np.ndarray | None:
    """The stored proxy as float32, or None if missing, unreadable or built for another key."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if key is not None and z["key"].tobytes() != key:
                return None
            return z["rgb"].astype(np.float32)
    except (OSError, KeyError, ValueError):
        return None


def cached_proxy(original: str | os.PathLike[str], long_edge: int = 2048) -> np.ndarray:
    """The proxy of a file on disk, built once and then read from `<original>.proxy.npz`."""
    src = Path(original)
    key = _key(src, long_edge)
    cached = load_proxy(proxy_path(src), key)
    if cached is not None:
        return cached
    proxy = make_proxy(src, long_edge)
    save_proxy(proxy_path(src), proxy, key)
    return proxy.astype(np.float32)
