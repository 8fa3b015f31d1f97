from __future__ import annotations

import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest
from PIL import Image

from kernels.io import CorruptImage, ImageIOError, ImageTooLarge, UnsupportedFormat, decode, probe
from kernels.io.sniff import sniff_format

from .conftest import jpeg_bytes, png_bytes

REPO = Path(__file__).resolve().parents[3]


def _png_header_only(w: int, h: int) -> bytes:
    def chunk(t: bytes, b: bytes) -> bytes:
        return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _many_page_tiff(pages: int) -> bytes:
    import io

    frames = [Image.new("L", (4, 4), i % 255) for i in range(pages)]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def test_probe_reads_identity_size_and_camera_metadata_without_decoding(photo):
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Canon", "EOS R5", 6
    exif.get_ifd(0x8769)[0x9003] = "2024:05:06 07:08:09"
    info = probe(jpeg_bytes(photo[:, :300], exif=exif.tobytes()))
    assert (info.format, info.mime_type, info.width, info.height) == (
        "jpeg",
        "image/jpeg",
        300,
        512,
    )
    assert (info.camera_make, info.camera_model, info.orientation) == ("Canon", "EOS R5", 6)
    assert info.capture_time is not None
    assert info.capture_time.isoformat() == "2024-05-06T07:08:09"
    assert (info.frames, info.bit_depth, info.colour_space, info.has_alpha) == (1, 8, "srgb", False)


def test_format_comes_from_magic_bytes_not_the_name(tmp_path, photo):
    path = tmp_path / "holiday.jpg"
    path.write_bytes(png_bytes(photo))
    assert probe(path).format == "png"


BAD_INPUTS = {
    "zero bytes": (b"", CorruptImage),
    "wrong magic": (b"hello, this is not an image at all", UnsupportedFormat),
    "gif is not ours": (b"GIF89a" + b"\0" * 40, UnsupportedFormat),
    "lying png header": (_png_header_only(100_000, 100_000), ImageTooLarge),
    "zero-size png": (_png_header_only(0, 10), CorruptImage),
    "tiff with thousands of pages": (_many_page_tiff(2000), ImageTooLarge),
    "unknown iso brand": (b"\0\0\0\x18ftypqt  " + b"\0" * 40, UnsupportedFormat),
    "cr3 that is not": (b"\0\0\0\x18ftypcrx " + b"\0" * 200, ImageIOError),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_each_bad_input_raises_one_typed_error(name):
    payload, expected = BAD_INPUTS[name]
    with pytest.raises(expected) as err:
        decode(payload)
    assert isinstance(err.value, ImageIOError)
    assert err.value.code in {"corrupt_image", "unsupported_format", "image_too_large"}


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9])
def test_truncated_files_are_corrupt_not_crashes(photo, cut):
    for blob in (jpeg_bytes(photo), png_bytes(photo)):
        with pytest.raises(CorruptImage):
            decode(blob[: int(len(blob) * cut)])


@pytest.mark.parametrize(
    "suffix",
    [b"<html><script>alert(1)</script></html>", b"PK\x05\x06" + b"\0" * 18],
)
def test_polyglot_files_are_refused(photo, suffix):
    for blob in (jpeg_bytes(photo), png_bytes(photo)):
        with pytest.raises(CorruptImage):
            probe(blob + suffix)


def test_png_with_trailing_data_is_refused(photo):
    with pytest.raises(CorruptImage):
        probe(png_bytes(photo) + b"\x00extra")


def test_multi_page_tiff_is_allowed_only_when_asked():
    blob = _many_page_tiff(3)
    with pytest.raises(ImageTooLarge):
        probe(blob)
    assert probe(blob, allow_multi_frame=True).frames == 3


def test_pixel_limit_is_configurable(photo):
    with pytest.raises(ImageTooLarge):
        probe(png_bytes(photo), max_pixels=512 * 511)
    assert probe(png_bytes(photo), max_pixels=512 * 512).pixels == 512 * 512


def test_errors_carry_stable_codes_and_statuses():
    assert (UnsupportedFormat.code, UnsupportedFormat.http_status) == ("unsupported_format", 415)
    assert (CorruptImage.code, CorruptImage.http_status) == ("corrupt_image", 422)
    assert (ImageTooLarge.code, ImageTooLarge.http_status) == ("image_too_large", 413)


def test_raw_formats_are_recognised_by_magic_bytes():
    tiff_le = b"II*\x00\x08\x00\x00\x00"
    assert sniff_format(b"II*\x00\x10\x00\x00\x00CR\x02\x00" + b"\0" * 40) == "cr2"
    assert sniff_format(b"\0\0\0\x18ftypcrx " + b"\0" * 40) == "cr3"
    assert sniff_format(b"FUJIFILMCCD-RAW 0201" + b"\0" * 40) == "raf"
    assert sniff_format(b"IIRO\x08\0\0\0" + b"\0" * 40) == "orf"
    assert sniff_format(b"IIU\x00\x08\0\0\0" + b"\0" * 40) == "rw2"

    def with_make(make: bytes) -> bytes:
        entry = struct.pack("<HHII", 0x010F, 2, len(make) + 1, 26)
        return tiff_le + struct.pack("<H", 1) + entry + b"\0\0\0\0" + make + b"\0" + b"\0" * 30

    assert sniff_format(with_make(b"NIKON CORPORATION")) == "nef"
    assert sniff_format(with_make(b"SONY")) == "arw"
    assert sniff_format(with_make(b"Scanner Inc")) == "tiff"


def test_peak_memory_stays_bounded_on_bombs(tmp_path):
    """A 100000x100000 PNG header and a 2000-page TIFF must be refused without allocating."""
    (tmp_path / "bomb.png").write_bytes(_png_header_only(100_000, 100_000))
    (tmp_path / "pages.tif").write_bytes(_many_page_tiff(2000))
    script = textwrap.dedent(
        f"""
        import resource, sys
        sys.path.insert(0, {str(REPO)!r})
        import kernels.io as kio
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for name in ("bomb.png", "pages.tif"):
            try:
                kio.decode({str(tmp_path)!r} + "/" + name)
            except kio.ImageTooLarge:
                pass
            else:
                raise SystemExit("not refused: " + name)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    grown_kib = int(out.stdout.strip())
    assert grown_kib < 200 * 1024, f"peak RSS grew by {grown_kib} KiB"
