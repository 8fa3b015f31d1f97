"""16-bit colour PNG, which Pillow reads and writes only as 8-bit.

Reading reuses Pillow's C inflate+unfilter twice instead of unfiltering in Python: PNG filters
work byte-wise with a stride of one pixel, so the high and low bytes of each 16-bit sample
form independent lanes. Pillow's "RGB;16B" unpacker keeps the high-byte lane; feeding it the
same rows shifted by one byte makes it keep the low-byte lane. Cost: one extra decode and one
stored (level-0) deflate of the raw rows.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
from PIL import Image

from .errors import CorruptImage, UnsupportedFormat

_SIG = b"\x89PNG\r\n\x1a\n"
_MODES = {2: ("RGB", "RGB;16B", 3), 6: ("RGBA", "RGBA;16B", 4), 4: ("LA", "LA;16B", 2)}


def png_header(data: bytes) -> tuple[int, int, int, int, int]:
    """(width, height, bit depth, colour type, interlace) from IHDR."""
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise CorruptImage("PNG without a header chunk")
    w, h, depth, ctype, interlace = struct.unpack_from(">IIBBxxB", data, 16)
    return w, h, depth, ctype, interlace


def _chunks(data: bytes) -> tuple[bytes, bytes | None]:
    pos, idat, icc = 8, [], None
    while pos + 8 <= len(data):
        length, ctype = struct.unpack_from(">I4s", data, pos)
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            raise CorruptImage("truncated PNG chunk")
        if ctype == b"IDAT":
            idat.append(body)
        elif ctype == b"iCCP":
            name_end = body.find(b"\0")
            try:
                icc = zlib.decompress(body[name_end + 2 :])
            except zlib.error:
                icc = None
        elif ctype == b"IEND":
            break
        pos += 12 + length
    return b"".join(idat), icc


def _pillow_unfilter(mode: str, rawmode: str, size: tuple[int, int], stream: bytes) -> np.ndarray:
    im = Image.new(mode, size)
    decoder = Image._getdecoder(mode, "zip", (rawmode, 0))
    decoder.setimage(im.im, (0, 0, *size))
    _, err = decoder.decode(stream)
    if err < 0:
        raise CorruptImage("PNG image data does not decode")
    return np.asarray(im)


def read_png16(data: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    """HxWx3 uint16 RGB (gray expanded) and the uint16 alpha if any."""
    w, h, depth, ctype, interlace = png_header(data)
    if depth != 16 or ctype not in _MODES:
        raise ValueError("read_png16 handles 16-bit RGB, RGBA and gray+alpha")
    if interlace:
        raise UnsupportedFormat("interlaced 16-bit colour PNG is not supported")
    mode, rawmode, channels = _MODES[ctype]
    idat, _ = _chunks(data)
    row = 1 + w * channels * 2
    try:
        inflated = zlib.decompressobj().decompress(idat, row * h)
    except zlib.error as e:
        raise CorruptImage(f"PNG image data does not inflate: {e}") from e
    if len(inflated) < row * h:
        raise CorruptImage("PNG image data is truncated")
    rows = np.frombuffer(inflated, dtype=np.uint8).reshape(h, row)
    shifted = np.zeros_like(rows)
    shifted[:, 0] = rows[:, 0]
    shifted[:, 1:-1] = rows[:, 2:]
    hi = _pillow_unfilter(mode, rawmode, (w, h), idat)
    lo = _pillow_unfilter(mode, rawmode, (w, h), zlib.compress(shifted.tobytes(), 0))
    full = (hi.astype(np.uint16) << 8) | lo
    if full.ndim == 2:
        full = full[..., None]
    if channels == 2:
        return np.repeat(full[..., :1], 3, axis=2), full[..., 1]
    return np.ascontiguousarray(full[..., :3]), (full[..., 3] if channels == 4 else None)


def _chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def png_head(
    width: int, height: int, depth: int, channels: int, icc: bytes | None, exif: bytes | None
) -> bytes:
    """Signature, IHDR (RGB or RGBA, no interlace), then the profile and EXIF if any."""
    ctype = 6 if channels == 4 else 2
    out = [_SIG, _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, ctype, 0, 0, 0))]
    if icc:
        out.append(_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(icc)))
    if exif:
        out.append(_chunk(b"eXIf", exif.removeprefix(b"Exif\0\0")))
    return b"".join(out)


def write_png16(
    pixels: np.ndarray, *, icc_profile: bytes | None, exif: bytes | None, level: int = 6
) -> bytes:
    """uint16 HxWx3 or HxWx4 to PNG with the Sub filter (cheap in numpy, helps deflate)."""
    h, w, channels = pixels.shape
    bpp = channels * 2
    b = np.ascontiguousarray(pixels.astype(">u2")).view(np.uint8).reshape(h, w * bpp)
    rows = np.empty((h, 1 + w * bpp), dtype=np.uint8)
    rows[:, 0] = 1
    rows[:, 1 : 1 + bpp] = b[:, :bpp]
    np.subtract(b[:, bpp:], b[:, :-bpp], out=rows[:, 1 + bpp :])
    out = [png_head(w, h, 16, channels, icc_profile, exif)]
    compressed = zlib.compress(rows.tobytes(), level)
    for i in range(0, len(compressed), 1 << 20):
        out.append(_chunk(b"IDAT", compressed[i : i + (1 << 20)]))
    out.append(_chunk(b"IEND", b""))
    return b"".join(out)


def png_icc(data: bytes) -> bytes | None:
    return _chunks(data)[1]
