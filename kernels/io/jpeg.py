"""JPEG pixels through OpenCV's libjpeg-turbo (SIMD), metadata by hand.

Pillow links libjpeg-turbo too, and both produce the same pixels for the same file and the
same bytes for the same settings (tests/kernels/io/test_jpeg_codec.py checks this); OpenCV is
about twice as fast at each end because it decodes straight into a packed array and encodes
from one, without Pillow's 4-byte-per-pixel internal image and the copies around it. It writes
no ICC profile or EXIF, so `encode` splices them in where Pillow puts them (APP1 Exif, APP2
ICC_PROFILE chunks, right after the JFIF APP0), and it neither applies a profile nor rotates
(IMREAD_IGNORE_ORIENTATION) on decode: kernels.io does both, as for every other format.

Only 3-component (YCbCr or RGB) baseline/progressive files take this path; grey and CMYK
JPEGs, which need Pillow's mode handling and LittleCMS, stay on Pillow.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np

from . import jpeg_dc
from .errors import CorruptImage

SOF_MARKERS = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
_REDUCED = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4}
_REDUCED[8] = cv2.IMREAD_REDUCED_COLOR_8
SAMPLING = {
    "4:4:4": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
    "4:2:2": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
    "4:2:0": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
}
ICC_CHUNK = 65519  # 65535 - 2 (length) - 12 ("ICC_PROFILE\0") - 2 (sequence, count)


def first_scan(data: bytes) -> int:
    """The offset of the first SOS marker (where the header segments end), by walking the
    markers; len(data) if there is none."""
    return header(data).sos


@dataclass(frozen=True)
class Header:
    """What one walk over the header segments finds: the frame's component count and size
    (None and 0 where no SOF comes before the first scan or where the marker structure
    breaks), the offset of the first SOS marker (len(data) if the walk finds none) and of the
    SOF marker (-1 where there is none)."""

    components: int | None
    width: int
    height: int
    sos: int
    sof: int = -1


def header(data: bytes) -> Header:
    """Walk the markers up to the first scan once (a byte search could stop inside an EXIF
    thumbnail)."""
    pos, comps, width, height, sof = 2, None, 0, 0, -1
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker == 0xDA:
            return Header(comps, width, height, pos, sof)
        if marker == 0xD9:
            break
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if marker in SOF_MARKERS and comps is None:
            if pos + 10 > len(data):
                break
            height, width = struct.unpack_from(">HH", data, pos + 5)
            comps, sof = data[pos + 9], pos
        pos += 2 + length
    return Header(comps, width, height, len(data), sof)


def components(data: bytes) -> int | None:
    """The number of colour components in the frame header, or None if no SOF is found
    before the first scan (or the marker structure is broken)."""
    return header(data).components


def fast_path(data: bytes, head: Header | None = None) -> bool:
    """True for the JPEGs OpenCV decodes exactly as Pillow would: three components."""
    return (head or header(data)).components == 3


def draft_scale(size: tuple[int, int], requested: tuple[int, int]) -> int:
    """The DCT scaling (1, 2, 4 or 8) Pillow's draft() picks for `requested`: the largest
    that keeps both edges at or above it."""
    fit = min(size[0] // max(1, requested[0]), size[1] // max(1, requested[1]))
    return next((s for s in (8, 4, 2, 1) if fit >= s), 1)  # smaller than asked: full size


def complete(data: bytes, sos: int) -> bool:
    """The entropy-coded data after the first scan reaches an EOI marker. libjpeg pads a
    truncated scan with grey and only warns (OpenCV passes that on as an image); Pillow
    refuses it, and so do we. Searched from the end (where the EOI is): a forward search
    read the whole file, ~1.7 ms on 24 MP."""
    if sos >= len(data):  # junk between segments (libjpeg only warns): find the scan
        sos = data.find(b"\xff\xda")
    return sos > 0 and data.rfind(b"\xff\xd9", sos) > 0


def decode_bgr(data: bytes, scale: int = 1, head: Header | None = None) -> np.ndarray:
    """HxWx3 uint8 BGR as stored (not rotated, no profile applied), at 1/scale size. `head`:
    header(data), when the caller has it already."""
    if not complete(data, (head or header(data)).sos):
        raise CorruptImage("the JPEG image data is truncated")
    flags = _REDUCED[scale] | cv2.IMREAD_IGNORE_ORIENTATION
    try:
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as e:
        raise CorruptImage(f"the JPEG image data cannot be decoded: {e}") from e
    if bgr is None or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise CorruptImage("the JPEG image data cannot be decoded")
    return bgr


def decode_reduced(data: bytes, scale: int, head: Header | None = None) -> np.ndarray:
    """decode_bgr for thumbnails: at 1/8 scale through our multithreaded DC-only decoder
    (kernels/io/jpeg_dc.py: libjpeg's pixels for 4:4:4 and 4:2:2, close for 4:2:0 and
    progressive files) where it takes the file, libjpeg otherwise."""
    if scale == 8:
        if not complete(data, (head or header(data)).sos):
            raise CorruptImage("the JPEG image data is truncated")
        eighth = jpeg_dc.decode(data)
        if eighth is not None:
            return eighth.bgr
    return decode_bgr(data, scale, head)


def _segment(marker: int, payload: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload


def metadata_segments(icc_profile: bytes | None, exif: bytes | None) -> bytes:
    """APP1 Exif and APP2 ICC_PROFILE segments, laid out as Pillow writes them."""
    out = b""
    if exif:
        if not exif.startswith(b"Exif\x00\x00"):
            exif = b"Exif\x00\x00" + exif
        if len(exif) > 65533:
            raise ValueError("EXIF data is larger than one JPEG segment can hold")
        out += _segment(0xE1, exif)
    if icc_profile:
        chunks = [icc_profile[i : i + ICC_CHUNK] for i in range(0, len(icc_profile), ICC_CHUNK)]
        for i, chunk in enumerate(chunks, 1):
            out += _segment(0xE2, b"ICC_PROFILE\x00" + bytes([i, len(chunks)]) + chunk)
    return out


def encode_bgr(
    bgr: np.ndarray,
    *,
    quality: int,
    progressive: bool = False,
    subsampling: str = "4:2:0",
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
) -> bytes:
    """A JPEG of HxWx3 uint8 BGR in one libjpeg-turbo call, with the profile and EXIF
    embedded. Progressive files get optimised Huffman tables, as Pillow's encode has always
    asked for them. (jpeg_strips.encode_bands is the multithreaded encode of large images.)"""
    blob = encode_plain(bgr, quality=quality, progressive=progressive, subsampling=subsampling)
    return with_metadata(blob, icc_profile, exif)


def encode_plain(
    bgr: np.ndarray, *, quality: int, progressive: bool = False, subsampling: str = "4:2:0"
) -> bytes:
    """OpenCV's JPEG of HxWx3 uint8 BGR: JFIF APP0, no profile, no EXIF."""
    params = [
        cv2.IMWRITE_JPEG_QUALITY,
        int(quality),
        cv2.IMWRITE_JPEG_PROGRESSIVE,
        int(progressive),
        cv2.IMWRITE_JPEG_OPTIMIZE,
        int(progressive),
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
        SAMPLING[subsampling],
    ]
    ok, buf = cv2.imencode(".jpg", bgr, params)
    if not ok:
        raise ValueError("OpenCV could not encode the JPEG")
    return buf.tobytes()


def with_metadata(blob: bytes, icc_profile: bytes | None, exif: bytes | None) -> bytes:
    """`blob` with the profile and EXIF spliced in where Pillow puts them."""
    extra = metadata_segments(icc_profile, exif)
    if not extra:
        return blob
    at = 2
    if blob[2:4] == b"\xff\xe0":  # after the JFIF APP0, as Pillow places them
        at = 4 + struct.unpack_from(">H", blob, 4)[0]
    return blob[:at] + extra + blob[at:]
