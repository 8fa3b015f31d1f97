"""Build and read ICC matrix-shaper profiles.

Output profiles are built here rather than shipped as binaries: an ICC v2.4 display profile
is just colorants (the space's RGB->XYZ matrix Bradford-adapted to the D50 connection space),
a media white point and one tone curve per channel (`para` curves, exact to s15Fixed16).
LittleCMS reads them (tests check conversions against it), as do browsers and OS colour
managers. Reading parses the same tags, so any matrix-shaper profile is converted in float
precision; LUT-based profiles fall back to LittleCMS (see decode).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from .colour import (
    ADOBE_GAMMA,
    D65,
    ICC_D50_XYZ,
    PRIMARIES,
    WHITES,
    Encoding,
    bradford,
    encoding,
    rgb_to_xyz_matrix,
    xy_to_xyz,
)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

_DESCRIPTIONS = {
    "srgb": "sRGB IEC61966-2.1 (Orlume)",
    "display-p3": "Display P3 (Orlume)",
    "adobe-rgb": "Adobe RGB (1998) compatible (Orlume)",
    "prophoto": "ProPhoto RGB (Orlume)",
    "rec2020": "Rec. ITU-R BT.2020 (Orlume)",
}
# ICC parametric curve type 3 for the sRGB piecewise function; (g, a, b, c, d).
_SRGB_PARA = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
_ROMM_PARA = (1.8, 1.0, 0.0, 1 / 16, 16 / 512)


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz_tag(xyz: tuple[float, float, float] | F64) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(float(c)) for c in xyz)


def _para_tag(params: tuple[float, ...]) -> bytes:
    ftype = {1: 0, 5: 3}[len(params)]
    return b"para\0\0\0\0" + struct.pack(">HH", ftype, 0) + b"".join(_s15(p) for p in params)


def _desc_tag(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\0"
    body = b"desc\0\0\0\0" + struct.pack(">I", len(ascii_)) + ascii_
    return body + b"\0" * 12 + b"\0" * 67  # empty Unicode and ScriptCode parts (v2 layout)


def _text_tag(text: str) -> bytes:
    return b"text\0\0\0\0" + text.encode("ascii") + b"\0"


def d50_colorants(space: str) -> F64:
    """Columns are the rXYZ, gXYZ, bXYZ tags: the space adapted to the ICC D50 white."""
    m = rgb_to_xyz_matrix(space)
    return bradford(xy_to_xyz(WHITES[space]), np.array(ICC_D50_XYZ)) @ m


@cache
def build_profile(space: str, *, linear: bool = False) -> bytes:
    """ICC bytes for `space` (srgb, display-p3, adobe-rgb, prophoto, rec2020), optionally with
    a linear tone curve (used for float TIFF, which stores linear light)."""
    if space not in PRIMARIES:
        raise ValueError(f"no profile for {space!r}")
    col = d50_colorants(space)
    if linear:
        trc = _para_tag((1.0,))
    elif space == "adobe-rgb":
        trc = _para_tag((ADOBE_GAMMA,))
    elif space == "prophoto":
        trc = _para_tag(_ROMM_PARA)
    else:
        trc = _para_tag(_SRGB_PARA)
    white = xy_to_xyz(WHITES[space]) if WHITES[space] == D65 else np.array(ICC_D50_XYZ)
    desc = _DESCRIPTIONS[space] + (" linear" if linear else "")
    tags = [
        (b"desc", _desc_tag(desc)),
        (b"cprt", _text_tag("No copyright, use freely")),
        (b"wtpt", _xyz_tag(white)),
        (b"rXYZ", _xyz_tag(col[:, 0])),
        (b"gXYZ", _xyz_tag(col[:, 1])),
        (b"bXYZ", _xyz_tag(col[:, 2])),
        (b"rTRC", trc),
        (b"gTRC", trc),
        (b"bTRC", trc),
    ]
    table = b""
    blobs = b""
    offset = 128 + 4 + 12 * len(tags)
    seen: dict[bytes, int] = {}
    for sig, data in tags:
        if data not in seen:  # the three TRCs share one element, as the spec allows
            seen[data] = offset + len(blobs)
            blobs += data + b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", seen[data], len(data))
    body = struct.pack(">I", len(tags)) + table + blobs
    size = 128 + len(body)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + bytes([2, 0x40, 0, 0])
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"APPL"
        + b"\0" * 4  # flags
        + b"\0" * 8  # device manufacturer and model
        + b"\0" * 8  # attributes
        + struct.pack(">I", 0)  # perceptual intent
        + b"".join(_s15(c) for c in ICC_D50_XYZ)
        + b"orlm"
    )
    header += b"\0" * (128 - len(header))
    return header + body


# ---- reading -------------------------------------------------------------------------------


class NotMatrixShaper(ValueError):
    """The profile needs LittleCMS (LUT-based, CMYK, Lab...)."""


@dataclass(frozen=True)
class ParsedProfile:
    colour_space: str  # ICC data colour space signature, e.g. "RGB", "GRAY"
    colorants: F64 | None  # 3x3, D50 PCS, columns r, g, b
    curves: tuple[tuple[str, tuple[float, ...] | F32], ...]  # ("para", params) | ("table", t)
    description: str


def _tag_table(icc: bytes) -> dict[bytes, bytes]:
    if len(icc) < 132 or icc[36:40] != b"acsp":
        raise NotMatrixShaper("not an ICC profile")
    (count,) = struct.unpack_from(">I", icc, 128)
    tags: dict[bytes, bytes] = {}
    for i in range(min(count, 200)):
        pos = 132 + 12 * i
        if pos + 12 > len(icc):
            break
        sig, off, size = struct.unpack_from(">4sII", icc, pos)
        if off + size <= len(icc):
            tags[sig] = icc[off : off + size]
    return tags


def _curve(tag: bytes) -> tuple[str, tuple[float, ...] | F32]:
    kind = tag[:4]
    if kind == b"curv":
        (n,) = struct.unpack_from(">I", tag, 8)
        if n == 0:
            return ("para", (1.0,))
        if n == 1:
            (g,) = struct.unpack_from(">H", tag, 12)
            return ("para", (g / 256,))
        table = np.frombuffer(tag, dtype=">u2", count=n, offset=12).astype(np.float32) / 65535
        return ("table", table.astype(np.float32))
    if kind == b"para":
        (ftype,) = struct.unpack_from(">H", tag, 8)
        n = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}[ftype]
        vals = struct.unpack_from(f">{n}i", tag, 12)
        return ("para", tuple(v / 65536 for v in vals))
    raise NotMatrixShaper(f"unsupported curve type {kind!r}")


def _desc(tags: dict[bytes, bytes]) -> str:
    d = tags.get(b"desc", b"")
    if d[:4] == b"desc":
        (n,) = struct.unpack_from(">I", d, 8)
        return d[12 : 12 + n].split(b"\0")[0].decode("latin-1")
    if d[:4] == b"mluc":
        (count,) = struct.unpack_from(">I", d, 8)
        if count:
            ln, off = struct.unpack_from(">II", d, 20)
            return d[off : off + ln].decode("utf-16-be", "replace")
    return ""


def parse_profile(icc: bytes) -> ParsedProfile:
    tags = _tag_table(icc)
    space = icc[16:20].decode("latin-1").strip()
    desc = _desc(tags)
    if space == "GRAY" and b"kTRC" in tags:
        return ParsedProfile("GRAY", None, (_curve(tags[b"kTRC"]),), desc)
    if space != "RGB" or icc[20:24] != b"XYZ ":
        raise NotMatrixShaper(f"{space} profile")
    try:
        cols = [struct.unpack_from(">3i", tags[s], 8) for s in (b"rXYZ", b"gXYZ", b"bXYZ")]
        curves = tuple(_curve(tags[s]) for s in (b"rTRC", b"gTRC", b"bTRC"))
    except KeyError as e:
        raise NotMatrixShaper("LUT-based profile") from e
    colorants = np.array(cols, dtype=np.float64).T / 65536
    return ParsedProfile("RGB", colorants, curves, desc)


def eval_curve(curve: tuple[str, tuple[float, ...] | F32], v: F32) -> F32:
    kind, p = curve
    v = np.asarray(v, dtype=np.float32)
    if kind == "table":
        table = np.asarray(p, dtype=np.float32)
        x = np.linspace(0, 1, len(table), dtype=np.float32)
        return np.interp(v, x, table).astype(np.float32)
    params = tuple(float(x) for x in p)
    a = np.abs(v)
    if len(params) == 1:
        out = a ** np.float32(params[0])
    elif len(params) == 3:
        g, pa, pb = params
        out = np.where(a >= -pb / pa, np.maximum(pa * a + pb, 0) ** g, 0)
    elif len(params) == 4:
        g, pa, pb, pc = params
        out = np.where(a >= -pb / pa, np.maximum(pa * a + pb, 0) ** g + pc, pc)
    elif len(params) == 5:
        g, pa, pb, pc, pd = params
        out = np.where(a >= pd, np.maximum(pa * a + pb, 0) ** g, pc * a)
    else:
        g, pa, pb, pc, pd, pe, pf = params
        out = np.where(a >= pd, np.maximum(pa * a + pb, 0) ** g + pe, pc * a + pf)
    return np.copysign(out, v).astype(np.float32)


def _close(a: F64, b: F64, tol: float = 2e-3) -> bool:
    return bool(np.abs(a - b).max() < tol)


def guess_space(parsed: ParsedProfile) -> str:
    """Name a profile by its colorants and curve, not its description (which may be localised)."""
    if parsed.colorants is None:
        return "gray"
    lin = all(c == ("para", (1.0,)) for c in parsed.curves)
    for name in PRIMARIES:
        if _close(parsed.colorants, d50_colorants(name)):
            if lin:
                return f"linear-{name}"
            # The curve must also match the standard one for this name within 8-bit noise.
            x = np.linspace(0, 1, 64, dtype=np.float32)
            std = encoding(name).to_linear(x)
            ours = eval_curve(parsed.curves[0], x)
            if np.abs(std - ours).max() < 2e-3:
                return name
    return "unknown"


def encoding_for_profile(icc: bytes | None) -> Encoding:
    """The Encoding that decodes pixels tagged with `icc`; untagged images are sRGB."""
    if not icc:
        return encoding("srgb")
    parsed = parse_profile(icc)
    name = guess_space(parsed)
    if name not in ("unknown", "gray"):
        return encoding(name)
    if parsed.colorants is None:
        raise NotMatrixShaper("gray profile on an RGB image")
    # Any other matrix-shaper profile: its own curves and colorants, D50 PCS -> D65 Rec.2020.
    from .colour import to_d65_xyz_matrix

    to_d65 = bradford(np.array(ICC_D50_XYZ), xy_to_xyz(D65)) @ parsed.colorants
    to_work = np.linalg.inv(to_d65_xyz_matrix("rec2020")) @ to_d65
    curve = parsed.curves[0]
    if not all(_same(curve, c) for c in parsed.curves[1:]):
        raise NotMatrixShaper("per-channel curves differ; LittleCMS handles it")

    def to_linear(v: F32) -> F32:
        return eval_curve(curve, v)

    def to_encoded(v: F32) -> F32:
        raise NotImplementedError("exports only target our own output profiles")

    return Encoding(parsed.description or "icc", to_linear, to_encoded, to_work)


def _same(a: tuple[str, object], b: tuple[str, object]) -> bool:
    return a[0] == b[0] and np.array_equal(np.asarray(a[1]), np.asarray(b[1]))


def space_name(icc: bytes | None) -> str:
    if not icc:
        return "srgb"
    try:
        return guess_space(parse_profile(icc))
    except (NotMatrixShaper, struct.error, KeyError):
        return "unknown"
