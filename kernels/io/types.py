"""Plain data returned by probe/decode: frozen so callers can cache and share them safely."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

RAW_FORMATS = frozenset({"dng", "cr2", "cr3", "nef", "arw", "raf", "orf", "rw2"})

MIME_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "tiff": "image/tiff",
    "webp": "image/webp",
    "heic": "image/heic",
    "avif": "image/avif",
    "dng": "image/x-adobe-dng",
    "cr2": "image/x-canon-cr2",
    "cr3": "image/x-canon-cr3",
    "nef": "image/x-nikon-nef",
    "arw": "image/x-sony-arw",
    "raf": "image/x-fuji-raf",
    "orf": "image/x-olympus-orf",
    "rw2": "image/x-panasonic-rw2",
}


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int  # as stored, before EXIF orientation
    height: int
    frames: int
    bit_depth: int  # per sample; 32 means float
    icc_profile: bytes | None
    colour_space: (
        str  # best guess: srgb, display-p3, adobe-rgb, prophoto, rec2020, linear-*, unknown
    )
    orientation: int  # EXIF 1..8, 1 when absent
    camera_make: str | None
    camera_model: str | None
    capture_time: datetime | None
    has_depth: bool
    has_alpha: bool
    mime_type: str

    @property
    def is_raw(self) -> bool:
        return self.format in RAW_FORMATS

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True)
class DecodedImage:
    """Pixels in the working space: scene-linear, linear Rec.2020 primaries, float32 HxWx3."""

    rgb: FloatArray
    alpha: FloatArray | None
    info: ImageInfo
    exif: bytes | None = field(default=None, repr=False)  # the source's EXIF, for export policy


@dataclass(frozen=True)
class DepthMap:
    """Depth aligned with the decoded (oriented) photo; `depth` in `units`, larger is farther."""

    depth: FloatArray
    units: str  # "metres" or "relative"
    near: float
    far: float
    source: str  # "gdepth", "dynamic-depth" or "heic-aux"


@dataclass(frozen=True)
class RawOptions:
    demosaic: str = "ahd"  # ahd, aahd, dcb, dht, vng, ppg, linear
    highlights: str = "clip"  # clip, unclip, blend, reconstruct
    use_camera_wb: bool = True  # as shot
    half_size: bool = False  # 2x2 binning instead of demosaic: proxies and previews
