"""Identify a file by its magic bytes only: extensions and client content types lie."""

from __future__ import annotations

import re
import struct

from .errors import CorruptImage, UnsupportedFormat

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_KNOWN_BUT_UNSUPPORTED = {
    b"GIF8": "GIF",
    b"BM": "BMP",
    b"%PDF": "PDF",
    b"PK\x03\x04": "ZIP",
    b"\x00\x00\x00\x0cjP  ": "JPEG 2000",
    b"8BPS": "Photoshop",
}
# TIFF tags read from IFD0 to tell TIFF-based RAW formats apart.
TAG_MAKE, TAG_MODEL, TAG_DNG_VERSION = 0x010F, 0x0110, 0xC612


def tiff_ifd0_tags(data: bytes, wanted: set[int]) -> dict[int, bytes | int]:
    """Read a few IFD0 entries (ASCII as bytes, numbers as int) with strict bounds checks."""
    if len(data) < 8:
        raise CorruptImage("truncated TIFF header")
    endian = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack_from(endian + "I", data, 4)
    if offset + 2 > len(data):
        raise CorruptImage("TIFF first directory lies outside the file")
    (count,) = struct.unpack_from(endian + "H", data, offset)
    out: dict[int, bytes | int] = {}
    for i in range(min(count, 4096)):
        pos = offset + 2 + 12 * i
        if pos + 12 > len(data):
            raise CorruptImage("truncated TIFF directory")
        tag, typ, n = struct.unpack_from(endian + "HHI", data, pos)
        if tag not in wanted:
            continue
        if typ == 2:  # ASCII
            start = pos + 8 if n <= 4 else struct.unpack_from(endian + "I", data, pos + 8)[0]
            out[tag] = data[start : start + n].split(b"\x00", 1)[0].strip()
        elif typ == 3:
            out[tag] = struct.unpack_from(endian + "H", data, pos + 8)[0]
        elif typ in (1, 7):
            out[tag] = data[pos + 8]
        else:
            out[tag] = struct.unpack_from(endian + "I", data, pos + 8)[0]
    return out


def sniff_format(data: bytes) -> str:
    """Return our format name (jpeg, png, tiff, webp, heic, avif, dng, cr2, ...) or raise."""
    head = data[:64]
    if len(head) < 12:
        raise CorruptImage("too short to be an image")
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:15] == b"FUJIFILMCCD-RAW":
        return "raf"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        compatible = {head[i : i + 4] for i in range(16, min(len(head), 8 + 24), 4)}
        if brand == b"crx ":
            return "cr3"
        if brand in _AVIF_BRANDS:
            return "avif"
        if brand in _HEIF_BRANDS:
            return "avif" if compatible & _AVIF_BRANDS and b"heic" not in compatible else "heic"
        raise UnsupportedFormat(f"ISO media file with brand {brand!r} is not an image we read")
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR"):
        return "orf"
    if head[:4] == b"IIU\x00":
        return "rw2"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        if head[8:10] == b"CR" and head[10] == 2:
            return "cr2"
        tags = tiff_ifd0_tags(data, {TAG_MAKE, TAG_DNG_VERSION})
        if TAG_DNG_VERSION in tags:
            return "dng"
        make = tags.get(TAG_MAKE, b"")
        if isinstance(make, bytes):
            make = make.upper()
            if make.startswith(b"NIKON"):
                return "nef"
            if make.startswith(b"SONY"):
                return "arw"
        return "tiff"
    for magic, name in _KNOWN_BUT_UNSUPPORTED.items():
        if head.startswith(magic):
            raise UnsupportedFormat(f"{name} files are not supported")
    raise UnsupportedFormat("not a recognised image format")


_ACTIVE_CONTENT = re.compile(rb"<(?:script|html|\?php|svg|iframe)\b", re.IGNORECASE)


def reject_polyglot(data: bytes, fmt: str) -> None:
    """Refuse files that are also something else (HTML, script, ZIP, PDF): served back to a
    browser or unpacked by another tool, such a file can carry an attack past us."""
    if _ACTIVE_CONTENT.search(data):
        raise CorruptImage("file carries HTML or script content besides the image")
    if b"%PDF-" in data[:1024]:
        raise CorruptImage("file is also a PDF")
    eocd = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if eocd >= 0 and eocd + 22 <= len(data):
        (comment_len,) = struct.unpack_from("<H", data, eocd + 20)
        if eocd + 22 + comment_len == len(data):
            raise CorruptImage("file is also a ZIP archive")
    if fmt == "png":
        _reject_png_trailer(data)
    elif fmt == "webp":
        (riff_size,) = struct.unpack_from("<I", data, 4)
        if riff_size + 8 + 1 < len(data):
            raise CorruptImage("data after the end of the WebP container")


def _reject_png_trailer(data: bytes) -> None:
    pos = 8
    while pos + 8 <= len(data):
        length, ctype = struct.unpack_from(">I4s", data, pos)
        pos += 12 + length
        if ctype == b"IEND":
            if len(data) > pos:
                raise CorruptImage("data after the end of the PNG image")
            return
    # A missing IEND is a truncation; the decoder reports it.
