"""A JPEG's first scan, entropy decoded by jpeg_entropy.cpp (with jpeg_dc.cpp, one build):
the headers parsed and checked here, the scan opened once and used by the thumbnail decoder
(jpeg_dc.py) or the strip-parallel full decode (jpeg_split.py).

Supported: 8-bit YCbCr with three components in one interleaved first scan, Huffman coded,
baseline/extended sequential or progressive (its DC first scan), chroma sampled by integral
factors up to 4. Not supported (`plan` is None): arithmetic coding, lossless, 12-bit, grey,
CMYK, RGB-coded JPEGs, a first scan without all three components, and anything whose headers
do not add up. The C++ side checks the data: restart markers in sequence, every code in its
table, the scan long enough for every block.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np

from . import native

SOURCES = [Path(__file__).with_name("jpeg_entropy.cpp"), Path(__file__).with_name("jpeg_dc.cpp")]
_SEQUENTIAL = frozenset({0xC0, 0xC1})
_OTHER_SOF = frozenset({0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_STANDALONE = frozenset({0x01, 0xD8, *range(0xD0, 0xD8)})


@dataclass(frozen=True)
class Plan:
    """What the C++ decoder needs from the headers, checked."""

    width: int
    height: int
    sampling: tuple[tuple[int, int], ...]  # (h, v) per component, frame order = scan order
    quant: tuple[tuple[int, ...], ...]  # each component's 64 quantisers, natural order
    tables: tuple[tuple[int, int], ...]  # (DC table, AC table) per component
    huffman: dict[tuple[int, int], tuple[bytes, bytes]]  # (class, id) -> (counts, symbols)
    restart: int
    progressive: bool
    al: int
    scan: int  # offset of the first entropy-coded byte
    segments: tuple[tuple[int, int, int], ...] = ()  # (marker, start, end) up to the SOS's


class _Unsupported(Exception):
    pass


def plan(data: bytes) -> Plan | None:
    """Walk the headers up to the first scan; None for anything the decoder does not take."""
    try:
        return _plan(data)
    except (_Unsupported, struct.error, IndexError):
        return None


def _plan(data: bytes) -> Plan:
    if data[:2] != b"\xff\xd8":
        raise _Unsupported
    pos = 2
    quant: dict[int, tuple[int, ...]] = {}
    huff: dict[tuple[int, int], tuple[bytes, bytes]] = {}
    frame: tuple[int, int, int, list[tuple[int, int, int, int]]] | None = None
    restart, jfif, adobe = 0, False, -1
    segments: list[tuple[int, int, int]] = []
    while True:
        if data[pos] != 0xFF:
            raise _Unsupported
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        seg = data[pos + 4 : pos + 2 + length]
        if length < 2 or len(seg) != length - 2:
            raise _Unsupported
        segments.append((marker, pos, pos + 2 + length))
        if marker == 0xDB:
            _quant(seg, quant)
        elif marker == 0xC4:
            _huffman(seg, huff)
        elif marker in _SEQUENTIAL or marker == 0xC2:
            if frame is not None or seg[0] != 8 or seg[5] != 3:
                raise _Unsupported  # a second frame, 12-bit, grey or CMYK
            height, width = struct.unpack_from(">HH", seg, 1)
            comps = [
                (seg[6 + 3 * i], seg[7 + 3 * i] >> 4, seg[7 + 3 * i] & 15, seg[8 + 3 * i])
                for i in range(3)
            ]
            frame = (marker, width, height, comps)
        elif marker in _OTHER_SOF or marker == 0xD9:
            raise _Unsupported  # arithmetic, lossless, hierarchical; or no scan at all
        elif marker == 0xDD:
            (restart,) = struct.unpack_from(">H", seg)
        elif marker == 0xE0 and seg[:5] == b"JFIF\x00":
            jfif = True
        elif marker == 0xEE and seg[:5] == b"Adobe" and len(seg) >= 12:
            adobe = seg[11]
        elif marker == 0xDA:
            checked = _checked(frame, seg, pos + 2 + length, quant, huff, restart, jfif, adobe)
            return replace(checked, segments=tuple(segments))
        pos += 2 + length


# where each of a DQT's 64 values (zigzag order) goes in natural order
# fmt: off
_ZIGZAG = np.array([
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15,
    23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
])
# fmt: on


def _quant(seg: bytes, quant: dict[int, tuple[int, ...]]) -> None:
    i = 0
    while i < len(seg):
        precision, table = seg[i] >> 4, seg[i] & 15
        size = 64 * (precision + 1)
        if precision > 1 or table > 3 or i + 1 + size > len(seg):
            raise _Unsupported
        values = np.frombuffer(seg, np.uint8 if precision == 0 else ">u2", 64, i + 1)
        natural = np.empty(64, np.int64)
        natural[_ZIGZAG] = values
        quant[table] = tuple(int(v) for v in natural)
        i += 1 + size


def _huffman(seg: bytes, huff: dict[tuple[int, int], tuple[bytes, bytes]]) -> None:
    i = 0
    while i < len(seg):
        cls, table = seg[i] >> 4, seg[i] & 15
        counts = seg[i + 1 : i + 17]
        n = sum(counts)
        symbols = seg[i + 17 : i + 17 + n]
        if cls > 1 or table > 3 or len(counts) != 16 or n > 256 or len(symbols) != n:
            raise _Unsupported
        huff[(cls, table)] = (counts, symbols)
        i += 17 + n


def _checked(
    frame: tuple[int, int, int, list[tuple[int, int, int, int]]] | None,
    sos: bytes,
    scan: int,
    quant: dict[int, tuple[int, ...]],
    huff: dict[tuple[int, int], tuple[bytes, bytes]],
    restart: int,
    jfif: bool,
    adobe: int,
) -> Plan:
    if frame is None or sos[0] != 3 or len(sos) != 1 + 2 * 3 + 3:
        raise _Unsupported
    marker, width, height, comps = frame
    ids = [c[0] for c in comps]
    # libjpeg's colour-space guess (jdapimin.c): JFIF, else Adobe's transform, else the ids.
    if not jfif and (adobe == 0 or (adobe < 0 and ids == [82, 71, 66])):
        raise _Unsupported  # RGB-coded
    if [sos[1 + 2 * i] for i in range(3)] != ids:
        raise _Unsupported  # components in another order than the frame's
    tables = tuple((sos[2 + 2 * i] >> 4, sos[2 + 2 * i] & 15) for i in range(3))
    ss, se, ah, al = sos[7], sos[8], sos[9] >> 4, sos[9] & 15
    progressive = marker == 0xC2
    if progressive and (ss, se, ah) != (0, 0, 0):
        raise _Unsupported  # the first scan is not the DC first scan
    if not progressive and (ss, se, ah, al) != (0, 63, 0, 0):
        raise _Unsupported
    sampling = tuple((h, v) for _, h, v, _ in comps)
    hmax, vmax = max(h for h, _ in sampling), max(v for _, v in sampling)
    if width == 0 or height == 0 or sum(h * v for h, v in sampling) > 10:
        raise _Unsupported
    if any(not 1 <= h <= 4 or not 1 <= v <= 4 or hmax % h or vmax % v for h, v in sampling):
        raise _Unsupported
    for dc, ac in tables:
        if (0, dc) not in huff or (not progressive and (1, ac) not in huff):
            raise _Unsupported
    if any(c[3] not in quant for c in comps):
        raise _Unsupported
    return Plan(
        width=width,
        height=height,
        sampling=sampling,
        quant=tuple(quant[c[3]] for c in comps),
        tables=tables,
        huffman=huff,
        restart=restart,
        progressive=progressive,
        al=al,
        scan=scan,
    )


@cache
def _lib() -> ctypes.CDLL | None:
    lib = native.build(SOURCES, "io-jpeg", "JPEG thumbnails and strips decode through libjpeg")
    return None if lib is None else bind(lib)


def bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    """Declare the C functions of `lib` (the cached build, or a sanitizer build by hand)."""
    p, i, n = ctypes.c_void_p, ctypes.c_int, ctypes.c_long
    lib.jpeg_scan_open.argtypes = [p, n, p, p, p]
    lib.jpeg_scan_open.restype = p
    lib.jpeg_scan_free.argtypes = [p]
    lib.jpeg_scan_free.restype = None
    lib.jpeg_scan_eighth.argtypes = [p, i, p, n, p]
    lib.jpeg_scan_rows.argtypes = [p, i, p, p, p]
    lib.jpeg_scan_rebuild.argtypes = [p, ctypes.c_uint64, ctypes.c_uint64, p, p]
    lib.jpeg_scan_rebuild.restype = n
    lib.jpeg_scan_intervals.argtypes = [p, n, n, p]
    lib.jpeg_scan_intervals.restype = n
    for name in ("jpeg_scan_eighth", "jpeg_scan_rows"):
        getattr(lib, name).restype = i
    return lib


def available() -> bool:
    return _lib() is not None


@dataclass(frozen=True)
class Stats:
    threads: int  # how many decoded the entropy-coded data
    syncs: int  # speculative starts that were used (threads - 1 when every one synced)
    intervals: int  # restart intervals (0: none)
    overlap_bits: int  # decoded twice: from each speculative start to its sync point


class Scan:
    """An opened scan (its data unstuffed, its tables built); see `opened`."""

    def __init__(self, lib: ctypes.CDLL, handle: int, plan: Plan) -> None:
        self.lib, self.handle, self.plan = lib, handle, plan

    def eighth(self, threads: int) -> tuple[np.ndarray, Stats] | None:
        """The 1/8-scale BGR image, or None if the data does not decode cleanly."""
        p = self.plan
        out = np.empty(((p.height + 7) // 8, (p.width + 7) // 8, 3), np.uint8)
        stats = np.zeros(4, np.int_)
        status = self.lib.jpeg_scan_eighth(
            self.handle, threads, out.ctypes.data, out.strides[0], stats.ctypes.data
        )
        return (out, Stats(*(int(v) for v in stats))) if status == 0 else None

    def rows(self, threads: int) -> tuple[np.ndarray, np.ndarray, Stats] | None:
        """Where each MCU row starts (bits into the unstuffed data; one more entry: where
        the last ends) and each component's DC predictor there; None if the data does not
        decode cleanly. Sequential scans without restart markers only."""
        p = self.plan
        rows = -(-p.height // (8 * max(v for _, v in p.sampling)))
        pos = np.empty(rows + 1, np.uint64)
        pred = np.empty((rows, 3), np.int32)
        stats = np.zeros(4, np.int_)
        status = self.lib.jpeg_scan_rows(
            self.handle, threads, pos.ctypes.data, pred.ctypes.data, stats.ctypes.data
        )
        return (pos, pred, Stats(*(int(v) for v in stats))) if status == 0 else None

    def rebuild(self, start: int, end: int, pred: np.ndarray) -> bytes | None:
        """The bits [start, end) (whole MCU rows) as the entropy-coded data of a scan of
        their own; None if the first MCU's new DC values have no code in the table."""
        out = np.empty(2 * (end - start) // 8 + 64, np.uint8)
        pred = np.ascontiguousarray(pred, np.int32)
        n = self.lib.jpeg_scan_rebuild(self.handle, start, end, pred.ctypes.data, out.ctypes.data)
        return out[:n].tobytes() if n >= 0 else None

    def intervals(self, first: int, last: int, size: int) -> bytes | None:
        """Restart intervals [first, last) as a scan of their own (markers numbered from 0);
        size: the bytes they span in the file."""
        out = np.empty(2 * size + 2 * (last - first) + 64, np.uint8)
        n = self.lib.jpeg_scan_intervals(self.handle, first, last, out.ctypes.data)
        return out[:n].tobytes() if n >= 0 else None


@contextmanager
def opened(data: bytes, plan: Plan) -> Iterator[Scan | None]:
    """The first scan of `data` opened for decoding, or None (no compiled library, or headers
    or data the C++ side refuses)."""
    lib = _lib()
    if lib is None:
        yield None
        return
    tables = np.zeros((2, 4, 16 + 256), np.uint8)  # [class][id]: counts, then symbols
    for (cls, table), (counts, symbols) in plan.huffman.items():
        tables[cls, table, :16] = np.frombuffer(counts, np.uint8)
        tables[cls, table, 16 : 16 + len(symbols)] = np.frombuffer(symbols, np.uint8)
    frame = np.array(
        [
            plan.width,
            plan.height,
            *(h for h, _ in plan.sampling),
            *(v for _, v in plan.sampling),
            *(table[0] for table in plan.quant),
            *(dc for dc, _ in plan.tables),
            *(ac for _, ac in plan.tables),
            plan.restart,
            int(plan.progressive),
            plan.al,
            *(v for table in plan.quant for v in table),
        ],
        np.intc,
    )
    scan = np.frombuffer(data, np.uint8)[plan.scan :]
    status = ctypes.c_int(0)
    handle = lib.jpeg_scan_open(
        scan.ctypes.data, len(scan), frame.ctypes.data, tables.ctypes.data, ctypes.byref(status)
    )
    if not handle:
        yield None
        return
    try:
        yield Scan(lib, handle, plan)
    finally:
        lib.jpeg_scan_free(handle)
