"""Export metadata policy: what of the source's EXIF travels into an exported file."""

from __future__ import annotations

from enum import StrEnum

from PIL import Image

from .tiff import ARTIST, COPYRIGHT, MAKE, MODEL

GPS_IFD, EXIF_IFD, ORIENTATION = 0x8825, 0x8769, 0x0112
# "Camera" means the body, the lens and the exposure, never who/where/when beyond copyright.
_CAMERA_TOP = {MAKE, MODEL, ARTIST, COPYRIGHT}
_CAMERA_EXIF = {
    0x829A,  # ExposureTime
    0x829D,  # FNumber
    0x8827,  # ISO
    0x9201,  # ShutterSpeedValue
    0x9202,  # ApertureValue
    0x9204,  # ExposureBias
    0x920A,  # FocalLength
    0xA405,  # FocalLengthIn35mm
    0xA433,  # LensMake
    0xA434,  # LensModel
}


class MetadataPolicy(StrEnum):
    KEEP_ALL = "keep_all"
    COPYRIGHT_AND_CAMERA = "copyright_and_camera"
    STRIP_ALL = "strip_all"


def export_exif(
    source_exif: bytes | None, policy: MetadataPolicy | str, *, strip_location: bool = True
) -> bytes | None:
    """EXIF bytes for the export, or None. Orientation is always reset: pixels are upright."""
    policy = MetadataPolicy(policy)
    if policy is MetadataPolicy.STRIP_ALL or not source_exif:
        return None
    src = Image.Exif()
    src.load(source_exif)
    out = Image.Exif()
    if policy is MetadataPolicy.KEEP_ALL:
        for tag, value in src.items():
            if tag not in (GPS_IFD, EXIF_IFD):
                out[tag] = value
        sub = dict(src.get_ifd(EXIF_IFD))
        if not strip_location:
            gps = dict(src.get_ifd(GPS_IFD))
            if gps:
                out[GPS_IFD] = gps
    else:
        for tag in _CAMERA_TOP:
            if tag in src:
                out[tag] = src[tag]
        sub = {k: v for k, v in src.get_ifd(EXIF_IFD).items() if k in _CAMERA_EXIF}
    sub = {k: v for k, v in sub.items() if not isinstance(v, dict)}  # drop nested pointers
    if sub:
        out[EXIF_IFD] = sub
    out[ORIENTATION] = 1
    return out.tobytes()


def text_tags(source_exif: bytes | None, policy: MetadataPolicy | str) -> dict[int, str]:
    """Make/model/artist/copyright as plain TIFF tags, for our own 16-bit/float TIFF writer."""
    if MetadataPolicy(policy) is MetadataPolicy.STRIP_ALL or not source_exif:
        return {}
    src = Image.Exif()
    src.load(source_exif)
    return {t: str(src[t]).strip("\0 ") for t in _CAMERA_TOP if isinstance(src.get(t), str)}
