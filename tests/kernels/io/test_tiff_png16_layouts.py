"""Deep TIFF and PNG layouts users' tools write: tiles, planes, predictors, interlacing.

Given files written by libvips and tifffile (other people's encoders, not ours) from a real
photograph at 16 bits and in float, decoding returns exactly the written samples, through both
of our TIFF paths (OpenCV's libtiff and our own chunk reader), and bad layouts are refused with
the typed errors.
"""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
import pyvips
import tifffile
from skimage import data

import kernels.io as kio
from kernels.io import tiff
from kernels.io.colour import Encoding, encoding
from kernels.io.convert import to_working
from kernels.io.errors import CorruptImage
from kernels.io.png16 import read_png16


@pytest.fixture(scope="module")
def photo16() -> np.ndarray:
    """A real photograph with 16 bits of content: 8-bit samples times 257 plus a ramp."""
    base = data.astronaut()[:75, :83].astype(np.uint16) * 257
    ramp = (np.arange(75 * 83 * 3, dtype=np.uint32) % 251).reshape(75, 83, 3).astype(np.uint16)
    return base + ramp


@pytest.fixture(scope="module")
def photo32(photo16: np.ndarray) -> np.ndarray:
    return (photo16.astype(np.float32) / 65535) ** 2.2


def vips_tiff(pixels: np.ndarray, **options: object) -> bytes:
    image = pyvips.Image.new_from_array(pixels)
    kind = "rgb16" if pixels.dtype == np.uint16 else "scrgb"
    return bytes(image.copy(interpretation=kind).tiffsave_buffer(**options))


def samples(data: bytes, *, ours: bool) -> np.ndarray:
    """The decoded page as HxWxspp samples, through our reader or through libtiff."""
    ifd = tiff.first_ifd(data)
    spp, dtype = tiff._check(ifd)
    if ours:
        return tiff._read_chunks(data, ifd, spp, dtype)
    out = tiff._read_libtiff(data, ifd, spp, dtype)
    assert out is not None, "libtiff declined a chunky page"
    return out


VARIANTS = [
    (compression, predictor, tiled, kind)
    for compression, predictor, tiled, kind in itertools.product(
        ("none", "lzw", "deflate"), ("none", "horizontal", "float"), (False, True), ("u2", "f4")
    )
    if not (predictor == "float" and kind == "u2")  # the float predictor is for float samples
]


@pytest.mark.parametrize(("compression", "predictor", "tiled", "kind"), VARIANTS)
def test_chunky_tiff_variants_decode_exactly_through_both_readers(
    photo16: np.ndarray,
    photo32: np.ndarray,
    compression: str,
    predictor: str,
    tiled: bool,
    kind: str,
) -> None:
    pixels = photo16 if kind == "u2" else photo32
    if compression == "lzw" and kind == "f4" and not tiled:
        pixels = pixels[:40]  # our pure-Python LZW is slow; the layout is what is under test
    blob = vips_tiff(
        pixels,
        compression=compression,
        predictor=predictor,
        tile=tiled,
        tile_width=32,
        tile_height=16,
    )
    assert np.array_equal(samples(blob, ours=False), pixels)
    assert np.array_equal(samples(blob, ours=True), pixels)


@pytest.mark.parametrize(
    ("options", "kind"),
    [
        ({"compression": "zlib"}, "u2"),
        ({"compression": "zlib", "predictor": True}, "u2"),
        ({"tile": (32, 16)}, "u2"),
        ({"tile": (32, 16), "compression": "zlib"}, "f4"),
        ({"rowsperstrip": 7}, "f4"),
    ],
)
def test_planar_tiff_decodes_exactly(
    photo16: np.ndarray, photo32: np.ndarray, options: dict[str, object], kind: str
) -> None:
    # Given a page stored one plane per sample (which OpenCV's libtiff misreads silently)
    pixels = photo16 if kind == "u2" else photo32
    buf = io.BytesIO()
    tifffile.imwrite(
        buf,
        np.ascontiguousarray(pixels.transpose(2, 0, 1)),
        planarconfig="separate",
        photometric="rgb",
        **options,  # type: ignore[arg-type]
    )
    # When it is decoded, then every sample is where it was written
    rgb, alpha = tiff.read_rgb(buf.getvalue(), tiff.first_ifd(buf.getvalue()))
    assert alpha is None
    assert np.array_equal(rgb, pixels)


def test_gray_alpha_and_big_endian_tiff_decode_exactly(photo16: np.ndarray) -> None:
    gray_alpha = np.ascontiguousarray(photo16[..., :2])
    buf = io.BytesIO()
    tifffile.imwrite(buf, gray_alpha, photometric="minisblack", extrasamples=[2], tile=(16, 16))
    rgb, alpha = tiff.read_rgb(buf.getvalue(), tiff.first_ifd(buf.getvalue()))
    assert np.array_equal(rgb, np.repeat(gray_alpha[..., :1], 3, axis=2))
    assert alpha is not None
    assert np.array_equal(alpha, gray_alpha[..., 1])

    buf = io.BytesIO()
    tifffile.imwrite(buf, photo16, photometric="rgb", byteorder=">", compression="zlib")
    assert buf.getvalue()[:2] == b"MM"
    assert np.array_equal(samples(buf.getvalue(), ours=True), photo16)
    assert np.array_equal(kio.decode(buf.getvalue()).rgb, to_working(photo16, kio_srgb()))


def kio_srgb() -> Encoding:
    return encoding("srgb")


def test_a_tiled_page_is_oriented_once(photo16: np.ndarray) -> None:
    # Given a tiled 16-bit TIFF whose orientation tag says "rotate 90 clockwise"
    buf = io.BytesIO()
    tifffile.imwrite(
        buf, photo16, photometric="rgb", tile=(32, 32), extratags=[(274, "H", 1, 6, True)]
    )
    # When it is decoded, then rows run as the photographer saw them: rotated once, not twice
    decoded = kio.decode(buf.getvalue()).rgb
    assert decoded.shape == (83, 75, 3)
    expected = to_working(np.ascontiguousarray(np.rot90(photo16, k=-1)), kio_srgb())
    assert np.array_equal(decoded, expected)


def test_tiles_larger_than_the_image_are_refused(photo16: np.ndarray) -> None:
    buf = io.BytesIO()
    tifffile.imwrite(buf, photo16, photometric="rgb", tile=(32, 32))
    blob = bytearray(buf.getvalue())
    # Patch the tile length to 4096 rows (a 75-row image): a small file asking for a big buffer.
    entry = _entry_offset(bytes(blob), tiff.TILE_LENGTH)
    blob[entry + 8 : entry + 12] = (4096).to_bytes(4, "little")  # SHORT or LONG
    with pytest.raises(CorruptImage, match="tiles"):
        tiff._read_chunks(bytes(blob), tiff.first_ifd(bytes(blob)), 3, np.dtype("<u2"))
    with pytest.raises(kio.ImageIOError):
        kio.decode(bytes(blob))


def test_truncated_tiles_are_refused(photo16: np.ndarray) -> None:
    buf = io.BytesIO()
    tifffile.imwrite(buf, photo16, photometric="rgb", tile=(32, 32), compression="zlib")
    cut = buf.getvalue()[: len(buf.getvalue()) - 200]
    with pytest.raises(CorruptImage):
        samples(cut, ours=True)
    with pytest.raises(kio.ImageIOError):
        kio.decode(cut)


def _entry_offset(blob: bytes, tag: int) -> int:
    import struct

    ifd_at = struct.unpack_from("<I", blob, 4)[0]
    (count,) = struct.unpack_from("<H", blob, ifd_at)
    for i in range(count):
        at = ifd_at + 2 + 12 * i
        if struct.unpack_from("<H", blob, at)[0] == tag:
            return at
    raise AssertionError(f"tag {tag} not found")


@pytest.mark.parametrize("interlace", [False, True])
@pytest.mark.parametrize("kind", ["rgb16", "rgba16", "grey16+alpha"])
def test_16_bit_png_layouts_decode_exactly(photo16: np.ndarray, kind: str, interlace: bool) -> None:
    # Given a 16-bit PNG written by libvips, Adam7-interlaced or not
    if kind == "rgb16":
        pixels, interpretation = photo16, "rgb16"
    elif kind == "rgba16":
        pixels = np.dstack([photo16, photo16[..., 1][..., None] // 3])
        interpretation = "rgb16"
    else:
        pixels, interpretation = np.ascontiguousarray(photo16[..., :2]), "grey16"
    image = pyvips.Image.new_from_array(pixels).copy(interpretation=interpretation)
    blob = bytes(image.pngsave_buffer(interlace=interlace))
    # When it is read, then every sample is exact and alpha is kept apart
    rgb, alpha = read_png16(blob)
    if kind == "grey16+alpha":
        assert np.array_equal(rgb, np.repeat(pixels[..., :1], 3, axis=2))
        assert alpha is not None
        assert np.array_equal(alpha, pixels[..., 1])
    else:
        assert np.array_equal(rgb, pixels[..., :3])
        assert (alpha is None) == (kind == "rgb16")
        if alpha is not None:
            assert np.array_equal(alpha, pixels[..., 3])


def test_a_truncated_16_bit_png_is_refused(photo16: np.ndarray) -> None:
    blob = bytes(pyvips.Image.new_from_array(photo16).copy(interpretation="rgb16").pngsave_buffer())
    with pytest.raises(CorruptImage):
        read_png16(blob[: len(blob) * 2 // 3])
    with pytest.raises(kio.ImageIOError):
        kio.decode(blob[: len(blob) * 2 // 3])
