"""Depth maps that phones embed, as float depth aligned with the (upright) photo.

- JPEG, Google GDepth (XMP): GDepth:Data holds a base64 PNG/JPEG in the extended XMP
  segments, with Format (RangeInverse|RangeLinear), Near and Far.
- JPEG, Google Dynamic Depth 1.0: media items appended after the primary image, each listed
  in Container:Directory with Item:Mime, Item:Length, Item:Padding and Item:DataURI; the depth
  map (DepthMap:Format, Near, Far, DepthURI) names its item by that URI. Files in the older
  GContainer shape name it with Item:Semantic="Depth" instead; both are read.
- HEIC, Apple: the depth auxiliary image that libheif exposes (pillow-heif depth_images).
"""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import numpy as np
import pillow_heif
from PIL import Image

from .errors import CorruptImage
from .sniff import sniff_format
from .sources import Source, read_source
from .types import DepthMap

_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_EXT = b"http://ns.adobe.com/xmp/extension/\x00"


def read_embedded_depth(source: Source, *, orientation: int | None = None) -> DepthMap | None:
    """The embedded depth map, or None. It is resized to the photo's stored size and turned
    upright with the photo's EXIF orientation."""
    data = read_source(source)
    fmt = sniff_format(data)
    if fmt == "jpeg":
        return _jpeg_depth(data, orientation)
    if fmt == "heic":
        return _heic_depth(data)
    return None


def _app1_segments(data: bytes) -> list[bytes]:
    out, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xD9, 0xDA):  # end of image or start of scan: metadata is over
            break
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xE1:
            out.append(data[pos + 4 : pos + 2 + length])
        pos += 2 + length
    return out


def _xmp_texts(data: bytes) -> tuple[bytes, bytes]:
    main, ext_parts = b"", {}
    for seg in _app1_segments(data):
        if seg.startswith(_XMP):
            main = seg[len(_XMP) :]
        elif seg.startswith(_XMP_EXT):
            body = seg[len(_XMP_EXT) :]
            offset = int.from_bytes(body[36:40], "big")
            ext_parts[offset] = body[40:]
    extended = b"".join(ext_parts[k] for k in sorted(ext_parts))
    return main, extended


def _attr(xmp: bytes, name: bytes) -> bytes | None:
    m = re.search(name + rb'\s*=\s*"([^"]*)"', xmp) or re.search(
        rb"<" + name + rb">([^<]*)</" + name + rb">", xmp
    )
    return m.group(1) if m else None


def _to_depth(img: Image.Image, fmt: bytes, near: float, far: float) -> np.ndarray:
    arr = np.asarray(img)
    if arr.ndim == 3:
        arr = arr[..., 0]
    top = 65535.0 if arr.dtype == np.uint16 else 255.0
    d = arr.astype(np.float32) / np.float32(top)
    if fmt == b"RangeInverse":
        return (far * near / (far - d * (far - near))).astype(np.float32)
    return (d * (far - near) + near).astype(np.float32)


def _aligned(depth: np.ndarray, photo_size: tuple[int, int], orientation: int) -> np.ndarray:
    from .decode import orient

    if (depth.shape[1], depth.shape[0]) != photo_size:
        depth = np.asarray(
            Image.fromarray(depth, "F").resize(photo_size, Image.Resampling.BILINEAR)
        )
    return orient(depth, orientation)


def _photo_geometry(data: bytes, orientation: int | None) -> tuple[tuple[int, int], int]:
    with Image.open(io.BytesIO(data)) as im:
        o = orientation if orientation is not None else int(im.getexif().get(0x0112, 1) or 1)
        return im.size, o


def _jpeg_depth(data: bytes, orientation: int | None) -> DepthMap | None:
    main, extended = _xmp_texts(data)
    both = main + extended
    if b"GDepth:Data" in both:
        payload = _attr(both, b"GDepth:Data")
        fmt = _attr(both, b"GDepth:Format") or b"RangeLinear"
        near = float(_attr(both, b"GDepth:Near") or 0)
        far = float(_attr(both, b"GDepth:Far") or 1)
        if not payload:
            return None
        try:
            img = Image.open(io.BytesIO(base64.b64decode(payload)))
            img.load()
        except (ValueError, OSError) as e:
            raise CorruptImage(f"embedded GDepth image is unreadable: {e}") from e
        size, o = _photo_geometry(data, orientation)
        depth = _aligned(_to_depth(img, fmt, near, far), size, o)
        return DepthMap(depth=depth, units="metres", near=near, far=far, source="gdepth")
    if b"Container:Directory" in main:
        return _dynamic_depth(data, main, orientation)
    return None


_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


def _dynamic_depth(data: bytes, xmp: bytes, orientation: int | None) -> DepthMap | None:
    items = [
        (
            int(_attr(attrs, b"Item:Length") or 0),
            int(_attr(attrs, b"Item:Padding") or 0),
            _attr(attrs, b"Item:DataURI"),
            _attr(attrs, b"Item:Semantic"),
        )
        for attrs in re.findall(rb"<Container:Item\b([^>]*)/?>", xmp)
    ]
    uri = _attr(xmp, b"DepthMap:DepthURI")
    wanted = [
        i
        for i, (_, _, data_uri, semantic) in enumerate(items)
        if i > 0 and ((uri is not None and data_uri == uri) or semantic == b"Depth")
    ]
    if not wanted:
        return None
    blob = _item_bytes(data, [(n, pad) for n, pad, _, _ in items], wanted[0])
    fmt = _attr(xmp, b"DepthMap:Format") or b"RangeLinear"
    near = float(_attr(xmp, b"DepthMap:Near") or 0)
    far = float(_attr(xmp, b"DepthMap:Far") or 1)
    try:
        img = Image.open(io.BytesIO(blob))
        img.load()
    except OSError as e:
        raise CorruptImage(f"embedded depth image is unreadable: {e}") from e
    size, o = _photo_geometry(data, orientation)
    depth = _aligned(_to_depth(img, fmt, near, far), size, o)
    return DepthMap(depth=depth, units="metres", near=near, far=far, source="dynamic-depth")


def _item_bytes(data: bytes, items: list[tuple[int, int]], index: int) -> bytes:
    """Item `index` of a concatenated-file container. Every item after the primary (which is the
    file's own start) is appended in directory order; the end of the file is the end of the last
    item. Writers disagree on which side of an item its padding sits, so both readings are
    tried and the one that lands on an image's magic bytes wins."""
    if any(n < 0 or pad < 0 for n, pad in items) or index >= len(items):
        raise CorruptImage("the depth container lists a negative or missing item")
    appended = items[1:]
    total = sum(n + pad for n, pad in appended)
    if total > len(data) or items[index][0] == 0:
        raise CorruptImage("the depth container's items do not fit in the file")
    start = len(data) - total
    before = sum(n + pad for n, pad in items[1:index])
    length, pad = items[index]
    for offset in (start + before, start + before + pad):  # padding after, or before
        blob = data[offset : offset + length]
        if blob.startswith(_IMAGE_MAGIC):
            return blob
    raise CorruptImage("the depth container's item is not an image where its directory says")


def _heic_depth(data: bytes) -> DepthMap | None:
    heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=False)
    primary = heif[heif.primary_index]
    info: dict[str, Any] = dict(primary.info)
    aux: list[Any] = info.get("depth_images") or []
    if not aux:
        return None
    depth_img = aux[0]
    meta = depth_img.info.get("metadata", {}) if hasattr(depth_img, "info") else {}
    arr = np.asarray(depth_img.to_pillow()).astype(np.float32)
    if arr.ndim == 3:
        arr = arr[..., 0]
    top = 65535.0 if arr.max() > 255 else 255.0
    d = arr / np.float32(top)
    near = float(meta.get("d_min") or 0.0)
    far = float(meta.get("d_max") or 1.0)
    # Apple stores disparity-like (inverse) values; representation type 1 is inverse depth.
    if meta.get("representation_type") in (1, "uniform_inverse_Z") and near > 0:
        depth = far * near / (far - d * (far - near))
        units = "metres"
    else:
        depth, units = d * (far - near) + near, "relative" if not meta else "metres"
    depth = _aligned(depth.astype(np.float32), primary.size, 1)
    return DepthMap(depth=depth, units=units, near=near, far=far, source="heic-aux")
