"""Apple-style HEIC depth: an auxiliary image (auxC "urn:mpeg:hevc:2015:auxid:2") that
references the primary through an `auxl` item reference.

pillow-heif cannot write one, so the file is assembled here from two HEICs that libheif encoded
(a photo and a grey depth ramp): the depth file's coded item and properties become item 2 of
the photo's file, with an auxC property and the auxl reference, in a rewritten meta box. libheif
(through pillow-heif) then reads it as a depth image, as it does an iPhone portrait.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from kernels.io import probe, read_embedded_depth

DEPTH_AUX_TYPE = b"urn:mpeg:hevc:2015:auxid:2\x00"


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def full_box(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def children(data: bytes, start: int, end: int) -> list[tuple[bytes, bytes]]:
    """(type, whole box bytes) of the boxes between start and end (no 64-bit sizes here)."""
    out, pos = [], start
    while pos < end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        out.append((kind, data[pos : pos + size]))
        pos += size
    return out


class Heic:
    """The parts of a single-image libheif HEIC that the assembly needs."""

    def __init__(self, data: bytes) -> None:
        top = dict(children(data, 0, len(data)))
        self.ftyp = top[b"ftyp"]
        meta = top[b"meta"]
        parts = dict(children(meta, 12, len(meta)))
        self.hdlr = parts[b"hdlr"]
        iprp = parts[b"iprp"]
        iprp_parts = dict(children(iprp, 8, len(iprp)))
        ipco = iprp_parts[b"ipco"]
        self.properties = [b for _, b in children(ipco, 8, len(ipco))]
        self.item_id = struct.unpack_from(">H", parts[b"pitm"], 12)[0]
        self.associations = self._associations(iprp_parts[b"ipma"])
        self.infe = [
            b for k, b in children(parts[b"iinf"], 14, len(parts[b"iinf"])) if k == b"infe"
        ]
        self.coded = self._item_bytes(data, parts[b"iloc"])

    def _associations(self, ipma: bytes) -> list[tuple[bool, int]]:
        version_flags = struct.unpack_from(">I", ipma, 8)[0]
        version, flags = version_flags >> 24, version_flags & 0xFFFFFF
        pos = 16
        item = struct.unpack_from(">I" if version else ">H", ipma, pos)[0]
        pos += 4 if version else 2
        assert item == self.item_id
        count = ipma[pos]
        pos += 1
        out = []
        for _ in range(count):
            if flags & 1:
                value = struct.unpack_from(">H", ipma, pos)[0]
                out.append((bool(value & 0x8000), value & 0x7FFF))
                pos += 2
            else:
                out.append((bool(ipma[pos] & 0x80), ipma[pos] & 0x7F))
                pos += 1
        return out  # (essential, 1-based property index)

    def _item_bytes(self, data: bytes, iloc: bytes) -> bytes:
        version = iloc[8]
        sizes = iloc[12]
        offset_size, length_size = sizes >> 4, sizes & 15
        base_size = iloc[13] >> 4
        assert version in (0, 1)
        (count,) = struct.unpack_from(">H", iloc, 14)
        assert count == 1
        pos = 16 + 2 + (2 if version == 1 else 0) + 2  # item id, construction method, data ref
        base = int.from_bytes(iloc[pos : pos + base_size], "big")
        pos += base_size
        (extents,) = struct.unpack_from(">H", iloc, pos)
        pos += 2
        out = b""
        for _ in range(extents):
            off = int.from_bytes(iloc[pos : pos + offset_size], "big")
            pos += offset_size
            length = int.from_bytes(iloc[pos : pos + length_size], "big")
            pos += length_size
            out += data[base + off : base + off + length]
        return out


def heic_with_depth(photo_heic: bytes, depth_heic: bytes) -> bytes:
    photo, depth = Heic(photo_heic), Heic(depth_heic)
    depth_id = photo.item_id + 1
    auxc = full_box(b"auxC", 0, 0, DEPTH_AUX_TYPE)
    properties = photo.properties + depth.properties + [auxc]
    shift = len(photo.properties)
    depth_assoc = [(essential, index + shift) for essential, index in depth.associations]
    depth_assoc.append((True, len(properties)))  # auxC
    photo_assoc = photo.associations

    def entry(item: int, assoc: list[tuple[bool, int]]) -> bytes:
        packed = b"".join(struct.pack(">H", (0x8000 if e else 0) | i) for e, i in assoc)
        return struct.pack(">HB", item, len(assoc)) + packed

    ipma = full_box(
        b"ipma",
        0,
        1,
        struct.pack(">I", 2) + entry(photo.item_id, photo_assoc) + entry(depth_id, depth_assoc),
    )
    iprp = box(b"iprp", box(b"ipco", b"".join(properties)) + ipma)
    depth_infe = full_box(b"infe", 2, 1, struct.pack(">HH", depth_id, 0) + b"hvc1" + b"Depth\x00")
    iinf = full_box(b"iinf", 0, 0, struct.pack(">H", 2) + photo.infe[0] + depth_infe)
    iref = full_box(b"iref", 0, 0, box(b"auxl", struct.pack(">HHH", depth_id, 1, photo.item_id)))
    pitm = full_box(b"pitm", 0, 0, struct.pack(">H", photo.item_id))

    def iloc(mdat_data_at: int) -> bytes:
        rows = b""
        for item, off, length in (
            (photo.item_id, mdat_data_at, len(photo.coded)),
            (depth_id, mdat_data_at + len(photo.coded), len(depth.coded)),
        ):
            rows += struct.pack(">HHH", item, 0, 1) + struct.pack(">II", off, length)
        return full_box(b"iloc", 0, 0, bytes([0x44, 0x00]) + struct.pack(">H", 2) + rows)

    def meta(mdat_data_at: int) -> bytes:
        return full_box(b"meta", 0, 0, photo.hdlr + pitm + iloc(mdat_data_at) + iinf + iref + iprp)

    head = len(photo.ftyp) + len(meta(0)) + 8  # the iloc's size does not depend on the offsets
    return photo.ftyp + meta(head) + box(b"mdat", photo.coded + depth.coded)


def heic(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "HEIF", quality=95)
    return buf.getvalue()


@pytest.fixture(scope="module")
def portrait() -> tuple[bytes, np.ndarray]:
    from skimage import data

    pillow_heif.register_heif_opener()
    photo = Image.fromarray(data.astronaut()[:128, :192])
    ramp = np.tile(np.linspace(0, 255, 96).astype(np.uint8), (64, 1))  # half the photo's size
    return heic_with_depth(heic(photo), heic(Image.fromarray(ramp))), ramp


def test_libheif_sees_the_assembled_depth_image(portrait: tuple[bytes, np.ndarray]) -> None:
    blob, _ = portrait
    heif = pillow_heif.open_heif(io.BytesIO(blob))
    depth_images = heif[heif.primary_index].info["depth_images"]
    assert isinstance(depth_images, list)
    assert len(depth_images) == 1


def test_heic_depth_is_read_aligned_with_the_photo(portrait: tuple[bytes, np.ndarray]) -> None:
    # Given an HEIC portrait whose depth auxiliary image is a left-to-right ramp at half size
    blob, ramp = portrait
    assert probe(blob).has_depth
    # When its depth is read
    dm = read_embedded_depth(blob)
    # Then it is the ramp, stretched to the photo, in relative units (no depth SEI: no range)
    assert dm is not None
    assert dm.source == "heic-aux"
    assert dm.depth.shape == (128, 192)
    assert dm.units == "relative"
    assert dm.depth[:, :4].mean() == pytest.approx(0.0, abs=0.03)
    assert dm.depth[:, -4:].mean() == pytest.approx(1.0, abs=0.03)
    expected = np.asarray(
        Image.fromarray(ramp.astype(np.float32) / 255, "F").resize(
            (192, 128), Image.Resampling.BILINEAR
        )
    )
    assert float(np.abs(dm.depth - expected).mean()) < 0.02  # HEVC-coded: close, not exact


def test_an_heic_without_depth_has_none() -> None:
    from skimage import data

    pillow_heif.register_heif_opener()
    assert read_embedded_depth(heic(Image.fromarray(data.astronaut()[:64, :64]))) is None
