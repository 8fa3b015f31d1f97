from __future__ import annotations

import io

import cv2
import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageCms

from kernels.io import MetadataPolicy, build_profile, decode, encode
from kernels.io.colour import encoding
from kernels.io.convert import from_working

from .conftest import jpeg_bytes, png_bytes


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / mse))


def _srgb8(rgb: np.ndarray) -> np.ndarray:
    return from_working(rgb, encoding("srgb"), 8, dither=False)


@pytest.mark.parametrize(("fmt", "bits"), [("png", 16), ("tiff", 16)])
def test_16_bit_round_trip_is_exact_to_its_quantisation(photo, fmt, bits):
    src = decode(png_bytes(photo)).rgb
    for profile in ("srgb", "display-p3", "adobe-rgb"):
        blob = encode(src, format=fmt, bit_depth=bits, profile=profile)
        back = decode(blob)
        assert back.info.bit_depth == 16
        assert back.info.colour_space == profile
        enc = encoding(profile)
        again = from_working(back.rgb, enc, 16).astype(int)
        first = from_working(src, enc, 16).astype(int)
        # Re-encoding lands on the stored code, except in deep shadows of pure-gamma curves
        # (Adobe RGB), whose infinite slope at 0 magnifies float32 matrix rounding (~1e-8
        # linear) to a few 16-bit steps: at most 4/65535 = 6e-5 of full scale.
        assert np.abs(again - first).max() <= 4
        assert (again == first).mean() > 0.999


def test_float_tiff_round_trip_keeps_out_of_range_values(photo):
    src = decode(png_bytes(photo)).rgb * np.float32(4) - np.float32(0.5)  # HDR and negatives
    back = decode(encode(src, format="tiff", bit_depth=32, profile="display-p3"))
    assert back.info.colour_space == "linear-display-p3"
    np.testing.assert_allclose(back.rgb, src, rtol=1e-5, atol=1e-6)


def test_8_bit_lossless_formats_return_the_same_codes(photo):
    src = decode(png_bytes(photo)).rgb
    for fmt, kw in (("png", {}), ("tiff", {}), ("webp", {"lossless": True})):
        back = decode(encode(src, format=fmt, dither=False, **kw))
        assert np.array_equal(_srgb8(back.rgb), photo), fmt


@pytest.mark.parametrize(("fmt", "min_psnr"), [("jpeg", 34.0), ("webp", 30.0), ("avif", 30.0)])
def test_lossy_round_trips_stay_close(photo, fmt, min_psnr):
    back = decode(encode(decode(png_bytes(photo)).rgb, format=fmt, quality=92))
    assert _psnr(_srgb8(back.rgb), photo) > min_psnr


def test_jpeg_options_change_the_file(photo):
    src = decode(png_bytes(photo)).rgb
    base = encode(src, format="jpeg", quality=90)
    assert encode(src, format="jpeg", quality=60) != base
    prog = encode(src, format="jpeg", progressive=True)
    assert Image.open(io.BytesIO(prog)).info.get("progressive") == 1
    full = Image.open(io.BytesIO(encode(src, format="jpeg", subsampling="4:4:4")))
    assert full.layer[0][1:3] == full.layer[1][1:3]  # same sampling factors: no subsampling


def test_eight_bit_output_is_dithered(photo):
    ramp = np.repeat(np.linspace(0.1, 0.12, 1024, dtype=np.float32)[None, :, None], 64, 0)
    ramp = np.repeat(ramp, 3, axis=2)
    plain = from_working(ramp, encoding("srgb"), 8, dither=False)
    dithered = from_working(ramp, encoding("srgb"), 8)
    # Without dither each column band is flat; with it, rows differ (grain replaces banding).
    assert (plain == plain[0]).all()
    assert not (dithered == dithered[0]).all()
    assert abs(dithered.mean() - plain.mean()) < 0.6


@pytest.mark.parametrize("space", ["display-p3", "adobe-rgb", "prophoto"])
def test_tagged_input_agrees_with_littlecms(cat, space):
    """Our float conversion vs LittleCMS applied directly: within 1 code value (max 2 where
    LittleCMS's own 8-bit pipeline rounds twice)."""
    blob = png_bytes(cat, icc_profile=build_profile(space))
    ours = _srgb8(decode(blob).rgb)
    src_profile = ImageCms.ImageCmsProfile(io.BytesIO(build_profile(space)))
    lcms = ImageCms.profileToProfile(
        Image.fromarray(cat), src_profile, ImageCms.createProfile("sRGB"), outputMode="RGB"
    )
    diff = np.abs(ours.astype(int) - np.asarray(lcms).astype(int))
    assert diff.max() <= 2
    assert diff.mean() < 0.3


@pytest.mark.parametrize("profile", ["display-p3", "adobe-rgb"])
def test_output_profiles_agree_with_littlecms_and_are_embedded(cat, profile):
    src = decode(png_bytes(cat)).rgb
    blob = encode(src, format="png", profile=profile, dither=False)
    im = Image.open(io.BytesIO(blob))
    embedded = ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"]))
    assert profile.split("-")[0].lower() in ImageCms.getProfileDescription(embedded).lower()
    lcms = ImageCms.profileToProfile(
        Image.fromarray(cat), ImageCms.createProfile("sRGB"), embedded, outputMode="RGB"
    )
    diff = np.abs(np.asarray(im).astype(int) - np.asarray(lcms).astype(int))
    assert diff.max() <= 2
    assert diff.mean() < 0.3


def test_untagged_images_are_taken_as_srgb(cat):
    untagged = decode(png_bytes(cat)).rgb
    tagged = decode(png_bytes(cat, icc_profile=build_profile("srgb"))).rgb
    p3 = decode(png_bytes(cat, icc_profile=build_profile("display-p3"))).rgb
    np.testing.assert_allclose(untagged, tagged, atol=1e-6)
    assert np.abs(untagged - p3).max() > 0.01


def test_exif_orientation_is_applied(photo):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 clockwise to view
    rect = photo[:, :300]
    out = decode(jpeg_bytes(rect, exif=exif.tobytes(), quality=98)).rgb
    assert out.shape == (300, 512, 3)
    expected = decode(jpeg_bytes(np.ascontiguousarray(np.rot90(rect, -1)), quality=98)).rgb
    assert np.abs(out - expected).mean() < 0.01


def test_alpha_is_kept_apart(photo):
    alpha = np.tile(np.linspace(0, 255, 512).astype(np.uint8), (512, 1))
    dec = decode(png_bytes(np.dstack([photo, alpha])))
    assert dec.rgb.shape == (512, 512, 3)
    assert dec.alpha is not None
    np.testing.assert_allclose(dec.alpha, alpha / 255, atol=1e-6)
    again = decode(encode(dec.rgb, format="png", bit_depth=16, alpha=dec.alpha))
    assert again.alpha is not None
    np.testing.assert_allclose(again.alpha, dec.alpha, atol=1e-6)


def test_third_party_16_bit_files_decode_exactly(photo):
    sixteen = photo.astype(np.uint16) * 257 + 3
    ok, png = cv2.imencode(".png", sixteen[..., ::-1])
    ok2, lzw = cv2.imencode(".tiff", sixteen[..., ::-1], [cv2.IMWRITE_TIFF_COMPRESSION, 5])
    assert ok
    assert ok2
    for blob in (png.tobytes(), lzw.tobytes()):
        rgb = decode(blob).rgb
        assert np.array_equal(from_working(rgb, encoding("srgb"), 16), sixteen)


def test_heic_decodes(photo):
    heif = pillow_heif.from_bytes(mode="RGB", size=(512, 512), data=photo.tobytes())
    buf = io.BytesIO()
    heif.save(buf, quality=95)
    dec = decode(buf.getvalue())
    assert dec.info.format == "heic"
    assert _psnr(_srgb8(dec.rgb), photo) > 30


def _exif_with_everything() -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x8298], exif[0x0131] = "Nikon", "Z8", "(c) Ana", "Editor"
    exif.get_ifd(0x8769)[0x829A] = 0.004
    exif.get_ifd(0x8769)[0x9003] = "2024:01:01 10:00:00"
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 24.0)
    return exif.tobytes()


def _exported_exif(photo: np.ndarray, policy: str, **kw: bool) -> Image.Exif:
    src = decode(png_bytes(photo)).rgb
    blob = encode(
        src, format="jpeg", metadata_policy=policy, metadata_source=_exif_with_everything(), **kw
    )
    return Image.open(io.BytesIO(blob)).getexif()


def test_metadata_policy_strip_all(photo):
    assert len(_exported_exif(photo, MetadataPolicy.STRIP_ALL)) == 0


def test_metadata_policy_copyright_and_camera(photo):
    exif = _exported_exif(photo, "copyright_and_camera")
    assert (exif[0x010F], exif[0x8298]) == ("Nikon", "(c) Ana")
    assert 0x0131 not in exif
    assert not exif.get_ifd(0x8825)
    assert 0x9003 not in exif.get_ifd(0x8769)
    assert 0x829A in exif.get_ifd(0x8769)


def test_metadata_policy_keep_all_strips_location_unless_told(photo):
    kept = _exported_exif(photo, "keep_all")
    assert kept[0x0131] == "Editor"
    assert not kept.get_ifd(0x8825)
    assert _exported_exif(photo, "keep_all", strip_location=False).get_ifd(0x8825)
