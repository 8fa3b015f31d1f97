"""Depth maps in Google's Dynamic Depth 1.0 container (Pixel portrait photos).

The files are built here the way the specification lays them out: a primary JPEG whose XMP
lists every media item (Container:Directory of Item:Mime/Length/Padding/DataURI) and whose
camera's DepthMap names its item by DepthURI, with the items appended after the primary's EOI.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from kernels.io import CorruptImage, probe, read_embedded_depth

from .conftest import jpeg_bytes, png_bytes

NS = (
    b'xmlns:Device="http://ns.google.com/photos/dd/1.0/device/" '
    b'xmlns:Container="http://ns.google.com/photos/dd/1.0/container/" '
    b'xmlns:Item="http://ns.google.com/photos/dd/1.0/item/" '
    b'xmlns:Camera="http://ns.google.com/photos/dd/1.0/camera/" '
    b'xmlns:DepthMap="http://ns.google.com/photos/dd/1.0/depthmap/"'
)


def _item(attrs: str) -> bytes:
    return f'<rdf:li rdf:parseType="Resource"><Container:Item {attrs}/></rdf:li>'.encode()


def dynamic_depth_jpeg(
    photo: np.ndarray,
    depth8: np.ndarray,
    *,
    near: float,
    far: float,
    padding: int = 0,
    padding_before: bool = False,
    by_semantic: bool = False,
    length_lie: int = 0,
    exif_orientation: int = 1,
) -> bytes:
    original = jpeg_bytes(photo, quality=70)
    depth = png_bytes(depth8)
    confidence = png_bytes(np.full_like(depth8, 255))
    depth_ref = 'Item:Semantic="Depth"' if by_semantic else 'Item:DataURI="android/depthmap"'
    directory = (
        _item('Item:Mime="image/jpeg" Item:DataURI="primary_image"')
        + _item(
            f'Item:Mime="image/jpeg" Item:Length="{len(original)}" Item:DataURI="android/original"'
        )
        + _item(
            f'Item:Mime="image/png" Item:Length="{len(depth) + length_lie}" '
            f'Item:Padding="{padding}" {depth_ref}'
        )
        + _item(
            f'Item:Mime="image/png" Item:Length="{len(confidence)}" '
            'Item:DataURI="android/confidencemap"'
        )
    )
    camera = (
        b'<Device:Cameras><rdf:Seq><rdf:li rdf:parseType="Resource"><Device:Camera>'
        b"<Camera:DepthMap><rdf:Description "
        + f'DepthMap:Format="RangeLinear" DepthMap:Near="{near}" DepthMap:Far="{far}" '.encode()
        + b'DepthMap:Units="Meters" DepthMap:DepthURI="android/depthmap" '
        b'DepthMap:ConfidenceURI="android/confidencemap"/></Camera:DepthMap>'
        b"</Device:Camera></rdf:li></rdf:Seq></Device:Cameras>"
    )
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        + NS
        + b"><Device:Container><Container:Directory><rdf:Seq>"
        + directory
        + b"</rdf:Seq></Container:Directory></Device:Container>"
        + camera
        + b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    body = b"http://ns.adobe.com/xap/1.0/\x00" + xmp
    app1 = b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = exif_orientation
    Image.fromarray(photo).save(buf, "JPEG", quality=90, exif=exif.tobytes())
    primary = buf.getvalue()
    pad = b"\x00" * padding
    depth_part = pad + depth if padding_before else depth + pad
    return primary[:2] + app1 + primary[2:] + original + depth_part + confidence


@pytest.fixture
def depth8() -> np.ndarray:
    return np.tile(np.linspace(0, 255, 96).astype(np.uint8), (64, 1))


@pytest.mark.parametrize(
    ("padding", "padding_before", "by_semantic"),
    [(0, False, False), (37, False, False), (37, True, False), (0, False, True)],
)
def test_the_depth_item_is_found_by_its_uri_or_semantic_and_scaled_to_the_range(
    photo: np.ndarray, depth8: np.ndarray, padding: int, padding_before: bool, by_semantic: bool
) -> None:
    # Given a portrait photo with its depth map in a Dynamic Depth container
    blob = dynamic_depth_jpeg(
        photo,
        depth8,
        near=0.4,
        far=6.4,
        padding=padding,
        padding_before=padding_before,
        by_semantic=by_semantic,
    )
    assert probe(blob).has_depth
    # When its depth is read
    dm = read_embedded_depth(blob)
    # Then it is the depth item (not the original or the confidence map), at the photo's size,
    # in metres from near (left) to far (right)
    assert dm is not None
    assert dm.source == "dynamic-depth"
    assert dm.depth.shape == photo.shape[:2]
    assert dm.depth[:, :8].mean() == pytest.approx(0.4, abs=0.1)
    assert dm.depth[:, -8:].mean() == pytest.approx(6.4, abs=0.1)
    assert np.all(np.diff(dm.depth[10], axis=0) >= -1e-5)  # increases left to right


def test_the_depth_map_turns_with_the_photo(photo: np.ndarray, depth8: np.ndarray) -> None:
    blob = dynamic_depth_jpeg(photo, depth8, near=1.0, far=2.0, exif_orientation=6)
    dm = read_embedded_depth(blob)
    assert dm is not None
    # Rotated 90 degrees clockwise: what was the left edge (near) is now the top row
    assert dm.depth.shape == (photo.shape[1], photo.shape[0])
    assert dm.depth[:8].mean() == pytest.approx(1.0, abs=0.05)
    assert dm.depth[-8:].mean() == pytest.approx(2.0, abs=0.05)


@pytest.mark.parametrize("lie", [10**9, 5])
def test_a_directory_that_lies_about_lengths_is_refused(
    photo: np.ndarray, depth8: np.ndarray, lie: int
) -> None:
    blob = dynamic_depth_jpeg(photo, depth8, near=1.0, far=2.0, length_lie=lie)
    with pytest.raises(CorruptImage):
        read_embedded_depth(blob)


def test_a_photo_without_a_depth_item_has_no_depth(photo: np.ndarray) -> None:
    assert read_embedded_depth(jpeg_bytes(photo)) is None
