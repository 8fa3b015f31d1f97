"""The chunk-parallel 8-bit PNG encode writes one valid zlib stream of rows filtered as
libpng's heuristic filters them, which every decoder reads back as the exact pixels."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
import pyvips
from PIL import Image

from kernels.io import build_profile, encode, png_parallel, workers
from kernels.io.colour import encoding
from kernels.io.convert import from_working, to_working


@pytest.fixture(scope="module")
def large(photo) -> np.ndarray:
    return np.asarray(Image.fromarray(photo).resize((1517, 1003), Image.Resampling.BICUBIC))


def with_alpha(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    ramp = (np.add.outer(np.arange(h), np.arange(w)) % 256).astype(np.uint8)
    return np.dstack([rgb, ramp])


def ours(pixels: np.ndarray, level: int = 6, **kw: object) -> bytes:
    h, w, c = pixels.shape
    return png_parallel.encode(
        lambda top, end, parallel: pixels[top:end],
        h,
        w,
        c,
        level=level,
        icc_profile=kw.get("icc"),  # type: ignore[arg-type]
        exif=kw.get("exif"),  # type: ignore[arg-type]
    )


def chunks(blob: bytes) -> list[tuple[bytes, bytes]]:
    pos, out = 8, []
    while pos < len(blob):
        length, kind = struct.unpack_from(">I4s", blob, pos)
        out.append((kind, blob[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def idat(blob: bytes) -> bytes:
    return b"".join(body for kind, body in chunks(blob) if kind == b"IDAT")


def libpng_filtered(pixels: np.ndarray) -> np.ndarray:
    """The NumPy oracle: every row filtered five ways, the smallest sum of |signed byte| wins
    (the first of equals), as png_write_find_filter chooses."""
    h, w, c = pixels.shape
    x = pixels.reshape(h, w * c).astype(np.int16)
    up = np.vstack([np.zeros((1, w * c), np.int16), x[:-1]])
    left = np.hstack([np.zeros((h, c), np.int16), x[:, :-c]])
    corner = np.hstack([np.zeros((h, c), np.int16), up[:, :-c]])
    p = left + up - corner
    pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - corner)
    paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, corner))
    candidates = np.stack([x, x - left, x - up, x - (left + up) // 2, x - paeth]) & 0xFF
    signed = np.where(candidates < 128, candidates, 256 - candidates)
    best = signed.sum(axis=2).argmin(axis=0)
    rows = candidates[best, np.arange(h)].astype(np.uint8)
    return np.hstack([best[:, None].astype(np.uint8), rows])


def decoded_by_everyone(blob: bytes, channels: int) -> list[np.ndarray]:
    with Image.open(io.BytesIO(blob)) as im:
        pil = np.asarray(im)
    cv = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_UNCHANGED)
    assert cv is not None
    cv = cv[..., [2, 1, 0, 3][:channels]]
    vips = pyvips.Image.new_from_buffer(blob, "").numpy()
    return [pil, cv, vips]


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("level", [1, 6])
def test_every_decoder_reads_back_the_exact_pixels(large, channels, level):
    pixels = large if channels == 3 else with_alpha(large)
    blob = ours(pixels, level)
    for got in decoded_by_everyone(blob, channels):
        assert np.array_equal(got, pixels)


@pytest.mark.parametrize("size", [(1031, 1025), (4096, 257), (257, 4099)])
def test_odd_sizes_and_chunk_edges(photo, size):
    pixels = np.asarray(Image.fromarray(photo).resize(size, Image.Resampling.BICUBIC))
    for got in decoded_by_everyone(ours(pixels, 1), 3):
        assert np.array_equal(got, pixels)


@pytest.mark.parametrize("channels", [3, 4])
def test_rows_are_filtered_as_libpngs_heuristic_filters_them(large, channels):
    pixels = large if channels == 3 else with_alpha(large)
    stream = zlib.decompress(idat(ours(pixels)))  # one zlib stream; its Adler-32 checks out
    h, w, c = pixels.shape
    assert np.array_equal(
        np.frombuffer(stream, np.uint8).reshape(h, 1 + w * c), libpng_filtered(pixels)
    )


def test_the_bytes_do_not_depend_on_the_number_of_cores(large):
    every = ours(large)
    with workers.limited(1):
        assert ours(large) == every


def test_adler32_of_pieces_combines_to_the_whole():
    rng = np.random.default_rng(3)
    blob = rng.integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    for cut in (0, 1, 65521, 100_000, 199_999):
        a, b = blob[:cut], blob[cut:]
        assert png_parallel.adler32_combine(
            zlib.adler32(a), zlib.adler32(b), len(b)
        ) == zlib.adler32(blob)


def test_encode_converts_each_chunk_as_the_whole_image_would(large):
    """Each worker converts its rows (dither aligned by row): the pixels are those of the
    whole image converted at once; profile and EXIF are embedded as Pillow embeds them."""
    rgb = to_working(large, encoding("srgb"))
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"
    blob = encode(
        rgb,
        format="png",
        profile="display-p3",
        metadata_policy="keep_all",
        metadata_source=exif.tobytes(),
        alpha=np.full(large.shape[:2], 0.5, np.float32),
    )
    expected = from_working(rgb, encoding("display-p3"), 8)
    with Image.open(io.BytesIO(blob)) as im:
        assert im.info["icc_profile"] == build_profile("display-p3")
        assert im.getexif()[0x010F] == "Camera Maker"
        got = np.asarray(im)
    assert np.array_equal(got[..., :3], expected)
    assert (got[..., 3] == 128).all()


def test_small_images_keep_pillows_encoder(cat):
    rgb = to_working(cat, encoding("srgb"))
    buf = io.BytesIO()
    Image.fromarray(from_working(rgb, encoding("srgb"), 8)).save(
        buf, "PNG", compress_level=6, icc_profile=build_profile("srgb")
    )
    assert encode(rgb, format="png", metadata_policy="strip_all") == buf.getvalue()


def test_a_large_image_is_deflated_in_several_chunks(large):
    """zlib header, one IDAT per chunk of about CHUNK_BYTES filtered bytes, the Adler-32."""
    blob = ours(large)
    idats = sum(kind == b"IDAT" for kind, _ in chunks(blob))
    filtered = len(large) * (1 + large.shape[1] * 3)
    assert idats == 2 + -(-len(large) // (png_parallel.CHUNK_BYTES // (1 + large.shape[1] * 3)))
    assert filtered > 2 * png_parallel.CHUNK_BYTES
