"""JPEG decode/encode on the GPU with NVIDIA nvImageCodec, so a frame crosses PCIe once as
8-bit and stays on the card through the develop kernels. The CPU path (kernels/io/jpeg*.py)
remains the reference and the fallback: `select_jpeg_codec` picks the GPU only when the
package imports *and* a CUDA device answers. On CPU-only hosts the tests build every argument
with the real package; the device calls themselves have not run yet.

Install on GPU hosts: `nvidia-nvimgcodec-cu13` (requirements-gpu.txt).
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from .errors import CorruptImage


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
        _decoder()
    except Exception:  # no device, no driver, out of memory: all mean "use the CPU"
        return False
    return True


def select_jpeg_codec(prefer_gpu: bool = True) -> str:
    """'nvimgcodec' or 'cpu'."""
    return "nvimgcodec" if prefer_gpu and available() else "cpu"


# The calls below follow nvImageCodec 0.9's Python API (pinned in requirements-gpu.txt), whose
# argument objects tests build with the real package on CPU-only hosts
# (tests/kernels/io/test_gpu_codec_api.py); only the device work itself needs a GPU.


def gpu_backends(mod: Any) -> list[Any]:
    """The card only: without a list nvImageCodec may fall back to its CPU codecs, which are
    slower than ours (kernels/io/jpeg*.py) and would leave the frame in host memory."""
    return [mod.Backend(mod.BackendKind.GPU_ONLY), mod.Backend(mod.BackendKind.HYBRID_CPU_GPU)]


def decode_params(mod: Any) -> Any:
    """Upright (EXIF orientation applied, as kernels.io.decode does), 8-bit interleaved sRGB
    codes: the colour conversion to the working space happens in the develop kernels."""
    return mod.DecodeParams(apply_exif_orientation=True, color_spec=mod.ColorSpec.SRGB)


def encode_params(mod: Any, quality: int, chroma_444: bool) -> Any:
    """Quality on libjpeg's 1-100 scale, 4:2:0 unless 4:4:4 is asked for (as the CPU encoder)."""
    css = mod.ChromaSubsampling.CSS_444 if chroma_444 else mod.ChromaSubsampling.CSS_420
    return mod.EncodeParams(
        quality_type=mod.QualityType.QUALITY,
        quality_value=float(quality),
        chroma_subsampling=css,
    )


@cache
def _decoder() -> Any:
    mod = _module()
    assert mod is not None
    return mod.Decoder(backends=gpu_backends(mod))


@cache
def _encoder() -> Any:
    mod = _module()
    assert mod is not None
    return mod.Encoder(backends=gpu_backends(mod))


def decode_jpeg_to_device(data: bytes) -> Any:
    """Decode on the GPU; returns an nvimgcodec.Image (uint8 HxWx3 RGB in device memory, with
    __cuda_array_interface__ / DLPack for CuPy or the develop kernels)."""
    mod = _module()
    if mod is None or not available():
        raise RuntimeError("nvImageCodec is not available on this host; use the CPU path")
    try:
        stream = mod.CodeStream(data)
        codec = stream.codec_name  # the headers are parsed here: RuntimeError when they cannot be
    except RuntimeError as e:
        raise CorruptImage(f"the GPU decoder cannot parse this JPEG: {e}") from e
    if codec != "jpeg":
        raise CorruptImage(f"the GPU JPEG path was given a {codec} stream")
    image = _decoder().decode(stream, params=decode_params(mod))
    if image is None:  # nvImageCodec's answer for a stream it cannot decode
        raise CorruptImage("the GPU decoder could not decode this JPEG")
    return image


def encode_jpeg_from_device(
    image: Any, *, quality: int = 90, chroma_444: bool = False, icc_profile: bytes | None = None
) -> bytes:
    """Encode an 8-bit RGB device image (anything with __cuda_array_interface__) to JPEG.
    nvImageCodec writes no ICC profile, so the caller's profile is spliced in as APP2."""
    mod = _module()
    if mod is None or not available():
        raise RuntimeError("nvImageCodec is not available on this host; use the CPU path")
    stream = _encoder().encode(
        mod.as_image(image), "jpeg", params=encode_params(mod, quality, chroma_444)
    )
    if stream is None:
        raise RuntimeError("the GPU encoder refused this image")
    out = bytes(stream)  # a CodeStream; its buffer is the file
    return insert_icc_app2(out, icc_profile) if icc_profile else out


def insert_icc_app2(jpeg_data: bytes, icc: bytes) -> bytes:
    """Splice an ICC profile into a JPEG as APP2 ICC_PROFILE segments, where the CPU encoder
    puts them (after SOI/APP0)."""
    from .jpeg import with_metadata

    return with_metadata(jpeg_data, icc, None)
