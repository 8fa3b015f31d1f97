"""JPEG decode/encode on the GPU with NVIDIA nvImageCodec, so a frame crosses PCIe once as
8-bit and stays on the card through the develop kernels. The CPU path (Pillow/libjpeg-turbo)
remains the reference and the fallback: `select_jpeg_codec` picks the GPU only when the
package imports *and* a CUDA device answers. Not exercised on CPU-only hosts.

Install on GPU hosts: `nvidia-nvimgcodec-cu13` (requirements-gpu.txt).
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any


@cache
def _module() -> Any | None:
    try:
        return importlib.import_module("nvidia.nvimgcodec")
    except Exception:  # ImportError, or a missing CUDA runtime raising at import time
        return None


@cache
def available() -> bool:
    """True when nvImageCodec imports and can create a GPU decoder on this host."""
    mod = _module()
    if mod is None:
        return False
    try:
        mod.Decoder()
    except Exception:  # no device, no driver, out of memory: all mean "use the CPU"
        return False
    return True


def select_jpeg_codec(prefer_gpu: bool = True) -> str:
    """'nvimgcodec' or 'cpu'."""
    return "nvimgcodec" if prefer_gpu and available() else "cpu"


@cache
def _decoder() -> Any:
    mod = _module()
    assert mod is not None
    return mod.Decoder()


@cache
def _encoder() -> Any:
    mod = _module()
    assert mod is not None
    return mod.Encoder()


def decode_jpeg_to_device(data: bytes) -> Any:
    """Decode on the GPU; returns an nvimgcodec.Image (uint8 HxWx3 RGB in device memory, with
    __cuda_array_interface__ / DLPack for CuPy or the develop kernels). EXIF orientation is
    applied by nvImageCodec's defaults; colour conversion to the working space happens on the
    card, in the develop kernels, from the 8-bit values."""
    if not available():
        raise RuntimeError("nvImageCodec is not available on this host; use the CPU path")
    return _decoder().decode(data)


def encode_jpeg_from_device(
    image: Any, *, quality: int = 90, chroma_444: bool = False, icc_profile: bytes | None = None
) -> bytes:
    """Encode an 8-bit RGB device image (anything with __cuda_array_interface__) to JPEG.
    nvImageCodec writes no ICC profile, so the caller's profile is spliced in as APP2."""
    mod = _module()
    if mod is None or not available():
        raise RuntimeError("nvImageCodec is not available on this host; use the CPU path")
    img = mod.as_image(image)
    params = mod.EncodeParams(
        quality=quality,
        chroma_subsampling=mod.ChromaSubsampling.CSS_444
        if chroma_444
        else mod.ChromaSubsampling.CSS_420,
    )
    out = bytes(_encoder().encode(img, "jpeg", params))
    return insert_icc_app2(out, icc_profile) if icc_profile else out


def insert_icc_app2(jpeg_data: bytes, icc: bytes) -> bytes:
    """Splice an ICC profile into a JPEG as APP2 ICC_PROFILE segments, where the CPU encoder
    puts them (after SOI/APP0)."""
    from .jpeg import with_metadata

    return with_metadata(jpeg_data, icc, None)
