"""The GPU codec's calls against nvImageCodec's real Python API (the pinned 0.9 wheel imports on
CPU-only hosts; only the device work needs a GPU): the argument objects are the package's own,
built with the keywords it takes, and the decoder and encoder are called as its signatures
say. The device calls themselves are stood in for by objects with those signatures."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import nvidia.nvimgcodec as nvimgcodec  # a dev requirement: imported, never skipped
import pytest
from PIL import Image

from kernels.io import CorruptImage, build_profile, gpu_codec

from .conftest import jpeg_bytes


@pytest.fixture
def on_a_gpu_host(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The real module, with a decoder and an encoder that record their calls (nvImageCodec's
    0.9 signatures: the stream or image positional, the codec name, everything else by
    keyword) in place of the device."""
    calls: dict[str, Any] = {}

    class Decoder:
        def decode(
            self, src: Any, *, image: Any = None, params: Any = None, cuda_stream: int = 0
        ) -> Any:
            calls["decode"] = (src, params)
            return "device image" if src.width else None

    class Encoder:
        def encode(
            self,
            image_s: Any,
            codec: str,
            *,
            code_stream_s: Any = None,
            params: Any = None,
            cuda_stream: int = 0,
        ) -> Any:
            calls["encode"] = (image_s, codec, params)
            return nvimgcodec.CodeStream(calls["jpeg"])

    for cached in (gpu_codec.available, gpu_codec._decoder, gpu_codec._encoder):
        cached.cache_clear()
    monkeypatch.setattr(gpu_codec, "_module", lambda: nvimgcodec)
    monkeypatch.setattr(gpu_codec, "available", lambda: True)
    monkeypatch.setattr(gpu_codec, "_decoder", lambda: Decoder())
    monkeypatch.setattr(gpu_codec, "_encoder", lambda: Encoder())
    return calls


def test_the_argument_objects_are_nvimgcodecs_own() -> None:
    backends = gpu_codec.gpu_backends(nvimgcodec)
    assert all(isinstance(b, nvimgcodec.Backend) for b in backends)
    assert [b.backend_kind for b in backends] == [
        nvimgcodec.BackendKind.GPU_ONLY,
        nvimgcodec.BackendKind.HYBRID_CPU_GPU,
    ]  # never its CPU codecs: ours are faster and keep the frame where the kernels run
    decode = gpu_codec.decode_params(nvimgcodec)
    assert decode.apply_exif_orientation is True
    assert decode.color_spec == nvimgcodec.ColorSpec.SRGB
    encode = gpu_codec.encode_params(nvimgcodec, 87, chroma_444=True)
    assert encode.quality_type == nvimgcodec.QualityType.QUALITY
    assert encode.quality_value == 87.0
    assert encode.chroma_subsampling == nvimgcodec.ChromaSubsampling.CSS_444
    assert (
        gpu_codec.encode_params(nvimgcodec, 90, chroma_444=False).chroma_subsampling
        == nvimgcodec.ChromaSubsampling.CSS_420
    )


def test_decode_hands_the_decoder_a_parsed_stream_and_its_parameters(
    on_a_gpu_host: dict[str, Any], photo: np.ndarray
) -> None:
    data = jpeg_bytes(photo)
    assert gpu_codec.decode_jpeg_to_device(data) == "device image"
    stream, params = on_a_gpu_host["decode"]
    assert isinstance(stream, nvimgcodec.CodeStream)
    assert (stream.codec_name, stream.width, stream.height) == (
        "jpeg",
        photo.shape[1],
        photo.shape[0],
    )
    assert isinstance(params, nvimgcodec.DecodeParams)


def test_a_stream_the_decoder_cannot_read_is_a_corrupt_image(
    on_a_gpu_host: dict[str, Any], photo: np.ndarray
) -> None:
    with pytest.raises(CorruptImage):
        gpu_codec.decode_jpeg_to_device(b"\xff\xd8\xff\xe0 not a JPEG at all")


def test_encode_wraps_the_image_and_returns_the_streams_bytes_with_the_profile(
    on_a_gpu_host: dict[str, Any], photo: np.ndarray
) -> None:
    on_a_gpu_host["jpeg"] = jpeg_bytes(photo)
    host = np.ascontiguousarray(photo)  # a host array stands in for a device one: same wrapper
    out = gpu_codec.encode_jpeg_from_device(
        host, quality=80, icc_profile=build_profile("display-p3")
    )
    image, codec, params = on_a_gpu_host["encode"]
    assert isinstance(image, nvimgcodec.Image)
    assert (image.height, image.width) == photo.shape[:2]
    assert codec == "jpeg"
    assert params.quality_value == 80.0
    assert isinstance(out, bytes)
    with Image.open(io.BytesIO(out)) as im:
        assert im.size == (photo.shape[1], photo.shape[0])
        assert im.info["icc_profile"] == build_profile("display-p3")
