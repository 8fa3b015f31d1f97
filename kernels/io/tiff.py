"""TIFF for what Pillow cannot do: 16-bit and 32-bit float RGB(A) and gray.

Pillow reduces 16-bit RGB TIFF to 8 bits and cannot open float RGB at all. Pixel-interleaved
("chunky") pages of 1, 3 or 4 samples decode through OpenCV's libtiff (strips or tiles, none /
LZW / deflate, predictors 1-3, at C speed). libtiff in OpenCV misreads planar pages (one plane
per sample) without an error, and it refuses gray+alpha, so those, and anything libtiff turns
down, go through the reader below: strips or tiles, chunky or planar, the same compressions
(LZW in pure Python: correct but ~10 MB/s) and predictors. Every chunk inflates to at most what
its rows and columns need, and tiles may not exceed the image (rounded up to the 16-pixel
grid), so a small file cannot make us allocate more than the probed pixel count allows. 8-bit
TIFF goes through Pillow (libtiff).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from .errors import CorruptImage, UnsupportedFormat

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8}
_TYPE_CODES = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 11: "f", 12: "d", 16: "Q"}
MAX_PAGES_WALKED = 10_000

W, H, BPS, COMPRESSION, PHOTOMETRIC = 256, 257, 258, 259, 262
STRIP_OFFSETS, ORIENTATION, SPP, ROWS_PER_STRIP, STRIP_BYTES = 273, 274, 277, 278, 279
PLANAR, PREDICTOR, EXTRA_SAMPLES, SAMPLE_FORMAT, ICC = 284, 317, 338, 339, 34675
TILE_WIDTH, TILE_LENGTH, TILE_OFFSETS, TILE_BYTES = 322, 323, 324, 325
MAKE, MODEL, DATETIME, ARTIST, COPYRIGHT, EXIF_IFD = 271, 272, 306, 315, 33432, 34665


@dataclass
class Ifd:
    endian: str
    tags: dict[int, tuple[int, ...] | bytes]
    next_offset: int

    def num(self, tag: int, default: int = 0) -> int:
        v = self.tags.get(tag)
        return int(v[0]) if isinstance(v, tuple) and v else default

    def nums(self, tag: int) -> tuple[int, ...]:
        v = self.tags.get(tag)
        return tuple(int(x) for x in v) if isinstance(v, tuple) else ()

    def text(self, tag: int) -> str | None:
        v = self.tags.get(tag)
        if isinstance(v, bytes):
            return v.split(b"\0", 1)[0].decode("utf-8", "replace").strip() or None
        return None


def read_ifd(data: bytes, offset: int, endian: str) -> Ifd:
    if offset + 2 > len(data) or offset < 8:
        raise CorruptImage("TIFF directory lies outside the file")
    (count,) = struct.unpack_from(endian + "H", data, offset)
    end = offset + 2 + 12 * count
    if end + 4 > len(data):
        raise CorruptImage("truncated TIFF directory")
    tags: dict[int, tuple[int, ...] | bytes] = {}
    for i in range(count):
        tag, typ, n, raw = struct.unpack_from(endian + "HHI4s", data, offset + 2 + 12 * i)
        size = _TYPE_SIZES.get(typ)
        if size is None:
            continue
        nbytes = size * n
        if nbytes <= 4:
            blob = raw[:nbytes]
        else:
            (voff,) = struct.unpack(endian + "I", raw)
            if voff + nbytes > len(data):
                raise CorruptImage("TIFF tag value lies outside the file")
            blob = data[voff : voff + nbytes]
        if typ in (2, 7):
            tags[tag] = blob
        elif typ in (5, 10):
            vals = struct.unpack(f"{endian}{2 * n}{'I' if typ == 5 else 'i'}", blob)
            tags[tag] = tuple(vals[i] // max(vals[i + 1], 1) for i in range(0, len(vals), 2))
        else:
            tags[tag] = struct.unpack(f"{endian}{n}{_TYPE_CODES[typ]}", blob)
    (nxt,) = struct.unpack_from(endian + "I", data, end)
    return Ifd(endian, tags, nxt)


def first_ifd(data: bytes) -> Ifd:
    endian = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack_from(endian + "I", data, 4)
    return read_ifd(data, offset, endian)


def count_pages(data: bytes, limit: int = MAX_PAGES_WALKED) -> int:
    """Walk the IFD chain without reading pixels; a loop or an overlong chain stops at `limit`."""
    ifd = first_ifd(data)
    seen = set()
    pages = 1
    while ifd.next_offset and pages < limit:
        if ifd.next_offset in seen:
            raise CorruptImage("TIFF directories form a loop")
        seen.add(ifd.next_offset)
        ifd = read_ifd(data, ifd.next_offset, ifd.endian)
        pages += 1
    return pages


def _lzw_decode(src: bytes, expected: int) -> bytes:
    """TIFF LZW (MSB-first codes, 9..12 bits, early change)."""
    out = bytearray()
    table: list[bytes] = [bytes([i]) for i in range(256)] + [b"", b""]
    bits, nbits, pos, width = 0, 0, 0, 9
    prev: bytes | None = None
    n = len(src)
    while len(out) < expected:
        while nbits < width:
            if pos >= n:
                return bytes(out)
            bits = (bits << 8) | src[pos]
            pos += 1
            nbits += 8
        nbits -= width
        code = (bits >> nbits) & ((1 << width) - 1)
        bits &= (1 << nbits) - 1
        if code == 256:
            table = table[:258]
            width = 9
            prev = None
            continue
        if code == 257:
            break
        if code < len(table):
            entry = table[code]
            if prev is not None:
                table.append(prev + entry[:1])
        elif prev is not None and code == len(table):
            entry = prev + prev[:1]
            table.append(entry)
        else:
            raise CorruptImage("bad LZW code in TIFF strip")
        out += entry
        prev = entry
        if len(table) + 1 >= (1 << width) and width < 12:
            width += 1
    return bytes(out)


def read_rgb(data: bytes, ifd: Ifd) -> tuple[np.ndarray, np.ndarray | None]:
    """Decode the first page, a 16-bit or float32 RGB(A), gray or gray+alpha one, to
    (rgb, alpha). `ifd` is first_ifd(data)."""
    spp, dtype = _check(ifd)
    arr = None
    if ifd.num(PLANAR, 1) == 1 and spp in (1, 3, 4):
        arr = _read_libtiff(data, ifd, spp, dtype)
    if arr is None:
        arr = _read_chunks(data, ifd, spp, dtype)
    if spp in (1, 2):
        rgb = np.repeat(arr[..., :1], 3, axis=2)
        alpha = arr[..., 1] if spp == 2 else None
    else:
        rgb = arr[..., :3]
        alpha = arr[..., 3] if spp == 4 else None
    return np.ascontiguousarray(rgb), (np.ascontiguousarray(alpha) if alpha is not None else None)


def _check(ifd: Ifd) -> tuple[int, np.dtype]:
    """Samples per pixel and the samples' file dtype, or the reason the page is refused."""
    spp = ifd.num(SPP, 1)
    bps = ifd.nums(BPS) or (1,)
    fmt = ifd.num(SAMPLE_FORMAT, 1)
    if spp not in (1, 2, 3, 4) or len(set(bps)) != 1 or bps[0] not in (16, 32):
        raise UnsupportedFormat(f"TIFF with {spp} samples of {bps} bits is not supported")
    if (bps[0], fmt) not in ((16, 1), (32, 3)):
        raise UnsupportedFormat("TIFF sample format not supported (16-bit int or 32-bit float)")
    if (comp := ifd.num(COMPRESSION, 1)) not in (1, 5, 8, 32946):
        raise UnsupportedFormat(f"TIFF compression {comp} is not supported")
    if ifd.num(PLANAR, 1) not in (1, 2):
        raise CorruptImage("TIFF planar configuration is neither chunky nor planar")
    if ifd.num(W) <= 0 or ifd.num(H) <= 0:
        raise CorruptImage("TIFF image has no pixels")
    return spp, np.dtype(("<" if ifd.endian == "<" else ">") + ("u2" if fmt == 1 else "f4"))


def _read_libtiff(data: bytes, ifd: Ifd, spp: int, dtype: np.dtype) -> np.ndarray | None:
    """HxWxspp native-order samples through OpenCV's libtiff, or None if it declines."""
    w, h = ifd.num(W), ifd.num(H)
    try:
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        return None
    if pixels is None:
        return None
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.shape != (h, w, spp) or pixels.dtype != dtype.newbyteorder("="):
        return None
    if spp >= 3:  # OpenCV answers BGR(A)
        pixels = pixels[..., [2, 1, 0, 3][:spp]]
    return np.ascontiguousarray(pixels)


def _read_chunks(data: bytes, ifd: Ifd, spp: int, dtype: np.dtype) -> np.ndarray:
    """Our own reader: every strip or tile of every plane, inflated, un-predicted, placed."""
    w, h = ifd.num(W), ifd.num(H)
    comp, pred = ifd.num(COMPRESSION, 1), ifd.num(PREDICTOR, 1)
    planes = spp if ifd.num(PLANAR, 1) == 2 else 1
    samples = spp // planes  # per pixel of one chunk
    tiled = TILE_WIDTH in ifd.tags
    if tiled:
        cw, ch = ifd.num(TILE_WIDTH), ifd.num(TILE_LENGTH)
        if not (0 < cw <= w + 15 and 0 < ch <= h + 15):
            raise CorruptImage("TIFF tiles are empty or larger than the image")
        offsets, counts = ifd.nums(TILE_OFFSETS), ifd.nums(TILE_BYTES)
    else:
        cw, ch = w, min(ifd.num(ROWS_PER_STRIP, h) or h, h)
        offsets, counts = ifd.nums(STRIP_OFFSETS), ifd.nums(STRIP_BYTES)
    across, down = -(-w // cw), -(-h // ch)
    if len(offsets) != len(counts) or len(offsets) < planes * across * down:
        raise CorruptImage("TIFF strips or tiles are missing")
    row_bytes = cw * samples * dtype.itemsize
    out = np.empty((h, w, spp), dtype=dtype.newbyteorder("="))
    for plane in range(planes):
        for ty in range(down):
            for tx in range(across):
                i = (plane * down + ty) * across + tx
                y0, x0 = ty * ch, tx * cw
                # Tiles are always whole; a strip image's last strip holds only its rows.
                rows = ch if tiled else min(ch, h - y0)
                chunk = _inflate(data, offsets[i], counts[i], comp, rows * row_bytes)
                block = _undo_predictor(
                    np.frombuffer(chunk, dtype=np.uint8).reshape(rows, row_bytes),
                    pred,
                    samples,
                    dtype,
                )
                pix = block.view(dtype).reshape(rows, cw, samples)
                y1, x1 = min(y0 + ch, h), min(x0 + cw, w)
                target = out[y0:y1, x0:x1, plane : plane + samples]
                target[...] = pix[: y1 - y0, : x1 - x0]
    return out


def _inflate(data: bytes, off: int, cnt: int, comp: int, want: int) -> bytes:
    """One strip or tile, decompressed to exactly `want` bytes (refused if shorter)."""
    if off + cnt > len(data):
        raise CorruptImage("TIFF strip or tile lies outside the file (truncated?)")
    raw = data[off : off + cnt]
    try:
        if comp in (8, 32946):
            chunk = zlib.decompressobj().decompress(raw, want)
        elif comp == 5:
            chunk = _lzw_decode(raw, want)
        else:
            chunk = raw
    except zlib.error as e:
        raise CorruptImage(f"TIFF strip does not inflate: {e}") from e
    if len(chunk) < want:
        raise CorruptImage("TIFF strip or tile is shorter than its rows (truncated?)")
    return chunk[:want]


def _undo_predictor(
    strip: npt.NDArray[np.uint8], pred: int, spp: int, dtype: np.dtype
) -> npt.NDArray[np.uint8]:
    if pred == 1:
        return strip
    rows = strip.shape[0]
    if pred == 2:
        # Horizontal differencing works on the samples' bits as unsigned integers of their
        # size, floats included (libtiff's horAcc32), wrapping around.
        file_uint = np.dtype(f"u{dtype.itemsize}").newbyteorder(dtype.byteorder)
        native = np.dtype(f"u{dtype.itemsize}")
        s = strip.view(file_uint).reshape(rows, -1, spp).astype(native)
        acc = np.cumsum(s, axis=1, dtype=native)
        return acc.astype(file_uint).view(np.uint8).reshape(rows, -1)
    if pred == 3 and dtype.kind == "f":
        # Floating-point predictor (Adobe tech note 3): each row's bytes were split into planes,
        # most significant first, then differenced with a stride of one pixel (spp bytes).
        flat = np.cumsum(strip.reshape(rows, -1, spp), axis=1, dtype=np.uint8)
        planes = flat.reshape(rows, 4, -1)
        big = planes.transpose(0, 2, 1)  # samples x bytes, big-endian order
        order = big if dtype.byteorder == ">" else big[..., ::-1]
        return np.ascontiguousarray(order).reshape(rows, -1)
    raise UnsupportedFormat(f"TIFF predictor {pred} is not supported for this sample type")


# ---- writing ---------------------------------------------------------------------------------


def write_rgb(
    pixels: np.ndarray,
    *,
    icc_profile: bytes | None,
    text_tags: dict[int, str] | None = None,
    level: int = 6,
) -> bytes:
    """Little-endian, chunky, deflate-compressed strips; uint16 or float32, 3 or 4 samples."""
    h, w, spp = pixels.shape
    if pixels.dtype == np.uint16:
        fmt, bits = 1, 16
    elif pixels.dtype == np.float32:
        fmt, bits = 3, 32
    else:
        raise ValueError("write_rgb takes uint16 or float32")
    le = np.ascontiguousarray(pixels.astype(pixels.dtype.newbyteorder("<"), copy=False))
    row_bytes = w * spp * bits // 8
    rows_per_strip = max(1, min(h, (256 * 1024) // row_bytes))
    strips = []
    raw = le.view(np.uint8).reshape(h, row_bytes)
    for r in range(0, h, rows_per_strip):
        strips.append(zlib.compress(raw[r : r + rows_per_strip].tobytes(), level))

    entries: list[tuple[int, int, int, bytes]] = []  # tag, type, count, value bytes

    def add(tag: int, typ: int, values: tuple[int, ...] | bytes) -> None:
        if isinstance(values, bytes):
            entries.append((tag, typ, len(values), values))
        else:
            code = _TYPE_CODES[typ]
            entries.append((tag, typ, len(values), struct.pack(f"<{len(values)}{code}", *values)))

    add(W, 4, (w,))
    add(H, 4, (h,))
    add(BPS, 3, (bits,) * spp)
    add(COMPRESSION, 3, (8,))
    add(PHOTOMETRIC, 3, (2,))
    for tag, text in sorted((text_tags or {}).items()):
        add(tag, 2, text.encode("utf-8") + b"\0")
    add(STRIP_OFFSETS, 4, (0,) * len(strips))  # patched below
    add(SPP, 3, (spp,))
    add(ROWS_PER_STRIP, 4, (rows_per_strip,))
    add(STRIP_BYTES, 4, tuple(len(s) for s in strips))
    add(PLANAR, 3, (1,))
    if spp == 4:
        add(EXTRA_SAMPLES, 3, (2,))  # unassociated alpha
    add(SAMPLE_FORMAT, 3, (fmt,) * spp)
    if icc_profile:
        add(ICC, 7, icc_profile)
    entries.sort(key=lambda e: e[0])

    ifd_size = 2 + 12 * len(entries) + 4
    extra_at = 8 + ifd_size
    extra = bytearray()
    value_offsets: dict[int, int] = {}
    for tag, _typ, _n, blob in entries:
        if len(blob) > 4:
            value_offsets[tag] = extra_at + len(extra)
            extra += blob + b"\0" * (len(blob) % 2)
    data_at = extra_at + len(extra)
    offsets, acc = [], data_at
    for s in strips:
        offsets.append(acc)
        acc += len(s)
    packed_offsets = struct.pack(f"<{len(offsets)}I", *offsets)
    if STRIP_OFFSETS in value_offsets:
        at = value_offsets[STRIP_OFFSETS] - extra_at
        extra[at : at + len(packed_offsets)] = packed_offsets
    out = bytearray(b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", len(entries)))
    for tag, typ, n, blob in entries:
        if tag == STRIP_OFFSETS and len(blob) <= 4:
            blob = packed_offsets
        field = struct.pack("<I", value_offsets[tag]) if tag in value_offsets else blob
        out += struct.pack("<HHI", tag, typ, n) + field.ljust(4, b"\0")
    out += struct.pack("<I", 0)
    out += extra
    for s in strips:
        out += s
    return bytes(out)
