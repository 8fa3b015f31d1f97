from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import rawpy
from pidng.core import RAW2DNG, DNGTags, Tag
from pidng.defs import CFAPattern, DNGVersion, PhotometricInterpretation
from PIL import Image

import kernels.io.fastpaths as fastpaths
from kernels.io import (
    CorruptImage,
    ImageTooLarge,
    cached_proxy,
    decode,
    gpu_codec,
    make_thumbnail,
    probe,
    proxy_path,
    read_embedded_depth,
)

from .conftest import jpeg_bytes, png_bytes


@pytest.fixture(scope="module")
def dng(tmp_path_factory, photo) -> tuple[bytes, np.ndarray]:
    """A real DNG: the astronaut, linearised, sampled through an RGGB Bayer mosaic, 12-bit."""
    lin = (photo.astype(np.float32) / 255) ** 2.2
    h, w, _ = lin.shape
    mosaic = np.empty((h, w), np.uint16)
    scale = 4000
    mosaic[0::2, 0::2] = lin[0::2, 0::2, 0] * scale
    mosaic[0::2, 1::2] = lin[0::2, 1::2, 1] * scale
    mosaic[1::2, 0::2] = lin[1::2, 0::2, 1] * scale
    mosaic[1::2, 1::2] = lin[1::2, 1::2, 2] * scale
    t = DNGTags()
    t.set(Tag.ImageWidth, w)
    t.set(Tag.ImageLength, h)
    t.set(Tag.TileWidth, w)
    t.set(Tag.TileLength, h)
    t.set(Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array)
    t.set(Tag.SamplesPerPixel, 1)
    t.set(Tag.BitsPerSample, 16)
    t.set(Tag.CFARepeatPatternDim, [2, 2])
    t.set(Tag.CFAPattern, CFAPattern.RGGB)
    t.set(Tag.BlackLevel, 0)
    t.set(Tag.WhiteLevel, 4095)
    t.set(
        Tag.ColorMatrix1,
        [
            [3240, 1000],
            [-1537, 1000],
            [-499, 1000],
            [-969, 1000],
            [1876, 1000],
            [42, 1000],
            [56, 1000],
            [-204, 1000],
            [1057, 1000],
        ],
    )  # XYZ->sRGB
    t.set(Tag.CalibrationIlluminant1, 21)  # D65
    t.set(Tag.AsShotNeutral, [[1, 1], [1, 1], [1, 1]])
    t.set(Tag.Make, "Orlume")
    t.set(Tag.Model, "Test Body")
    t.set(Tag.DNGVersion, DNGVersion.V1_4)
    t.set(Tag.DNGBackwardVersion, DNGVersion.V1_2)
    out = tmp_path_factory.mktemp("dng")
    r = RAW2DNG()
    r.options(t, path=str(out), compress=False)
    r.convert(mosaic, filename="astronaut")
    return (out / "astronaut.dng").read_bytes(), mosaic


def test_dng_is_probed_as_raw_with_camera(dng):
    info = probe(dng[0])
    assert (info.format, info.is_raw, info.width, info.height) == ("dng", True, 512, 512)
    assert (info.camera_make, info.camera_model) == ("Orlume", "Test Body")


def test_dng_mosaic_reads_back_as_written(dng):
    blob, mosaic = dng
    with rawpy.imread(io.BytesIO(blob)) as raw:
        assert np.array_equal(raw.raw_image_visible, mosaic)
        assert raw.raw_pattern is not None
        assert raw.raw_pattern.tolist() == [[0, 1], [3, 2]]


@pytest.mark.parametrize("algo", ["ahd", "linear"])
def test_dng_demosaics_into_linear_working_space_like_the_photo(dng, photo, algo):
    from kernels.io import RawOptions

    rgb = decode(dng[0], raw_options=RawOptions(demosaic=algo)).rgb
    assert rgb.shape == (512, 512, 3)
    assert rgb.dtype == np.float32
    truth = decode(png_bytes(photo)).rgb
    for c in range(3):  # structure matches per channel (colour calibration is the DNG's)
        corr = np.corrcoef(rgb[8:-8, 8:-8, c].ravel(), truth[8:-8, 8:-8, c].ravel())[0, 1]
        assert corr > 0.9


def test_thumbnail_is_small_upright_srgb_jpeg(photo):
    exif = Image.Exif()
    exif[0x0112] = 8
    big = np.asarray(Image.fromarray(photo).resize((2048, 1024)))
    thumb = Image.open(io.BytesIO(make_thumbnail(jpeg_bytes(big, exif=exif.tobytes()), 256)))
    assert thumb.format == "JPEG"
    assert thumb.size == (128, 256)
    assert thumb.info.get("icc_profile")


def test_thumbnail_of_a_jpeg_smaller_than_asked_keeps_its_size(photo):
    small = np.asarray(Image.fromarray(photo).resize((600, 400)))
    thumb = Image.open(io.BytesIO(make_thumbnail(jpeg_bytes(small), 2048)))
    assert thumb.size == (600, 400)  # never upscaled


def test_thumbnail_of_raw_and_png(dng, photo):
    for blob in (dng[0], png_bytes(photo)):
        assert max(Image.open(io.BytesIO(make_thumbnail(blob, 128))).size) == 128


def test_proxy_is_cached_next_to_the_original_and_rebuilt_when_stale(tmp_path, photo, monkeypatch):
    original = tmp_path / "photo.jpg"
    original.write_bytes(jpeg_bytes(np.asarray(Image.fromarray(photo).resize((1024, 512)))))
    first = cached_proxy(original, long_edge=256)
    assert first.shape == (128, 256, 3)
    assert proxy_path(original).exists()

    def no_decode(*a, **k):
        raise AssertionError("the proxy must come from the cache")

    monkeypatch.setattr(fastpaths, "make_proxy", no_decode)
    np.testing.assert_array_equal(cached_proxy(original, long_edge=256), first)
    original.write_bytes(jpeg_bytes(photo))  # the original changed: the cache is stale
    with pytest.raises(AssertionError, match="from the cache"):
        cached_proxy(original, long_edge=256)


def _gdepth_jpeg(photo: np.ndarray, depth8: np.ndarray, near: float, far: float) -> bytes:
    """Build a JPEG the way Google Camera did: GDepth XMP, the PNG in extended XMP."""
    png = png_bytes(depth8)
    main = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        b'xmlns:GDepth="http://ns.google.com/photos/1.0/depthmap/" GDepth:Format="RangeLinear" '
        + f'GDepth:Near="{near}" GDepth:Far="{far}" GDepth:Mime="image/png"/>'.encode()
        + b"</rdf:RDF></x:xmpmeta>"
    )
    ext = b'<x:xmpmeta><rdf:Description GDepth:Data="' + base64.b64encode(png) + b'"/></x:xmpmeta>'
    guid = b"0" * 32
    segs = b""
    body = b"http://ns.adobe.com/xap/1.0/\x00" + main
    segs += b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body
    for off in range(0, len(ext), 60000):
        part = ext[off : off + 60000]
        body = b"http://ns.adobe.com/xmp/extension/\x00" + guid + len(ext).to_bytes(4, "big")
        body += off.to_bytes(4, "big") + part
        segs += b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body
    jpg = jpeg_bytes(photo)
    return jpg[:2] + segs + jpg[2:]


def test_gdepth_depth_map_is_read_and_aligned(photo):
    depth8 = np.tile(np.linspace(0, 255, 128).astype(np.uint8), (128, 1))
    blob = _gdepth_jpeg(photo, depth8, near=0.5, far=4.5)
    assert probe(blob).has_depth
    dm = read_embedded_depth(blob)
    assert dm is not None
    assert dm.source == "gdepth"
    assert dm.depth.shape == (512, 512)
    assert dm.depth[:, 0].mean() == pytest.approx(0.5, abs=0.05)
    assert dm.depth[:, -1].mean() == pytest.approx(4.5, abs=0.05)
    assert read_embedded_depth(jpeg_bytes(photo)) is None


def test_gpu_codec_falls_back_to_cpu_without_nvimgcodec(monkeypatch):
    gpu_codec.available.cache_clear()
    monkeypatch.setattr(gpu_codec, "_module", lambda: None)
    assert gpu_codec.available() is False
    assert gpu_codec.select_jpeg_codec() == "cpu"
    with pytest.raises(RuntimeError, match="CPU path"):
        gpu_codec.decode_jpeg_to_device(b"\xff\xd8")
    gpu_codec.available.cache_clear()


def test_gpu_codec_selection_follows_availability(monkeypatch):
    class FakeModule:
        BackendKind = type("BackendKind", (), {"GPU_ONLY": 2, "HYBRID_CPU_GPU": 3})

        @staticmethod
        def Backend(kind: int) -> int:
            return kind

        @staticmethod
        def Decoder(backends: list[int]) -> object:
            return object()

    gpu_codec.available.cache_clear()
    gpu_codec._decoder.cache_clear()
    monkeypatch.setattr(gpu_codec, "_module", lambda: FakeModule)
    assert gpu_codec.select_jpeg_codec() == "nvimgcodec"
    assert gpu_codec.select_jpeg_codec(prefer_gpu=False) == "cpu"
    gpu_codec.available.cache_clear()
    gpu_codec._decoder.cache_clear()


def test_icc_is_spliced_into_gpu_encoded_jpegs(photo):
    from kernels.io import build_profile

    out = gpu_codec.insert_icc_app2(jpeg_bytes(photo), build_profile("display-p3"))
    assert Image.open(io.BytesIO(out)).info["icc_profile"] == build_profile("display-p3")


def test_thumbnail_refuses_what_the_probe_refuses_though_its_decode_starts_first(photo):
    blob = jpeg_bytes(np.asarray(Image.fromarray(photo).resize((2048, 1024))))
    with pytest.raises(CorruptImage):
        make_thumbnail(blob + b"<script>alert(1)</script>", 256)
    with pytest.raises(ImageTooLarge):
        make_thumbnail(blob, 256, max_pixels=2048 * 1024 - 1)
    assert Image.open(io.BytesIO(make_thumbnail(blob, 256))).size == (256, 128)
