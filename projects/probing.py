"""The one door between projects and image I/O.

Uses `kernels.io` (probe, make_thumbnail, make_proxy, typed errors with `.code`) when it is
there; until that branch lands, a Pillow fallback with the same contract: the format comes from
the bytes (magic numbers), never from the name or content type; pixel count and frames are
bounded before anything is decoded.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from typing import IO, Any

MAX_PIXELS = 150_000_000


class ProbeError(Exception):
    """Refused input. `code`: unsupported_format, corrupt_image, image_too_large, ..."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class ProbeResult:
    format: str
    mime_type: str
    width: int
    height: int
    frames: int = 1
    bit_depth: int = 8
    has_icc: bool = False
    has_alpha: bool = False
    has_depth: bool = False
    exif: dict[str, Any] = field(default_factory=dict)


def _kernels_io() -> Any:
    try:
        from kernels import io as kio  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None
    return kio if hasattr(kio, "probe") else None


def probe(source: IO[bytes], *, max_pixels: int = MAX_PIXELS) -> ProbeResult:
    kio = _kernels_io()
    if kio is not None:
        try:
            info = kio.probe(source, max_pixels=max_pixels, allow_multi_frame=False)
        except kio.ImageIOError as exc:
            raise ProbeError(str(exc.code), str(exc)) from exc
        exif = {
            k: v
            for k, v in {
                "make": getattr(info, "camera_make", None),
                "model": getattr(info, "camera_model", None),
                "captured_at": str(getattr(info, "capture_time", "") or "") or None,
                "orientation": getattr(info, "orientation", None),
            }.items()
            if v not in (None, "")
        }
        return ProbeResult(
            format=str(info.format),
            mime_type=str(getattr(info, "mime_type", "")),
            width=int(info.width),
            height=int(info.height),
            frames=int(getattr(info, "frames", 1)),
            bit_depth=int(getattr(info, "bit_depth", 8)),
            has_icc=bool(getattr(info, "icc_profile", None)),
            has_alpha=bool(getattr(info, "has_alpha", False)),
            has_depth=bool(getattr(info, "has_depth", False)),
            exif=exif,
        )
    return _pillow_probe(source, max_pixels=max_pixels)


# --- Pillow fallback ------------------------------------------------------------------------------

_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"RIFF", "WEBP"),
)
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "TIFF": "image/tiff", "WEBP": "image/webp"}
_BITS = {"I;16": 16, "I;16B": 16, "I;16L": 16, "I": 32, "F": 32, "RGB": 8, "RGBA": 8, "L": 8}


def _sniff(head: bytes) -> str | None:
    for magic, name in _MAGIC:
        if head.startswith(magic) and (name != "WEBP" or head[8:12] == b"WEBP"):
            return name
    return None


def _pillow_probe(source: IO[bytes], *, max_pixels: int) -> ProbeResult:
    from PIL import Image, UnidentifiedImageError

    head = source.read(16)
    source.seek(0)
    kind = _sniff(head)
    if kind is None:
        raise ProbeError("unsupported_format", "The file is not a supported image format.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source, formats=[kind])
            width, height = image.size
            if width * height > max_pixels:
                raise ProbeError(
                    "image_too_large",
                    f"The image has {width * height} pixels; the limit is {max_pixels}.",
                )
            frames = int(getattr(image, "n_frames", 1))
            if frames > 1:
                raise ProbeError("multi_frame", "Images with several frames are not supported.")
            image.verify()
    except ProbeError:
        raise
    except Image.DecompressionBombError as exc:
        raise ProbeError("image_too_large", "The image has too many pixels.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ProbeError("corrupt_image", "The image is damaged or truncated.") from exc
    source.seek(0)
    # verify() leaves the image unusable; reopen for metadata (header only, no pixels).
    image = Image.open(source, formats=[kind])
    exif: dict[str, Any] = {}
    try:
        raw = image.getexif()
        for tag, name in ((0x010F, "make"), (0x0110, "model"), (0x0112, "orientation")):
            if tag in raw:
                exif[name] = str(raw[tag])[:100] if name != "orientation" else int(raw[tag])
        sub = raw.get_ifd(0x8769)
        if 0x9003 in sub:
            exif["captured_at"] = str(sub[0x9003])[:32]
    except Exception:  # noqa: S110 - a broken EXIF block is no reason to refuse the photo
        pass
    return ProbeResult(
        format=kind,
        mime_type=_MIME[kind],
        width=width,
        height=height,
        frames=frames,
        bit_depth=_BITS.get(image.mode, 8),
        has_icc=bool(image.info.get("icc_profile")),
        has_alpha="A" in image.getbands(),
        has_depth=False,
        exif=exif,
    )


def make_derived(source: IO[bytes], *, long_edge: int) -> bytes:
    """A JPEG no larger than `long_edge` (thumbnail or proxy)."""
    kio = _kernels_io()
    if kio is not None:
        maker = kio.make_thumbnail if long_edge <= 512 else kio.make_proxy
        result = maker(source, long_edge=long_edge)
        return result if isinstance(result, bytes) else bytes(result)
    from PIL import Image, ImageOps

    with Image.open(source) as opened:
        opened.draft("RGB", (long_edge, long_edge))
        image = ImageOps.exif_transpose(opened).convert("RGB")
        image.thumbnail((long_edge, long_edge))
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=85)
        return out.getvalue()
