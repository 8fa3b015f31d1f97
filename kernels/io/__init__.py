"""Image I/O and colour for Orlume: probe, decode to the working space, encode exports.

Working space (DESIGN.md): scene-linear RGB, linear Rec.2020 primaries, D65, float32 HxWx3,
alpha kept apart. No Django: a GPU host, the CLI and the web process all import this.
"""

from .decode import decode
from .depth import read_embedded_depth
from .encode import encode, encode_8bit
from .errors import CorruptImage, ImageIOError, ImageTooLarge, UnsupportedFormat
from .fastpaths import cached_proxy, load_proxy, make_proxy, make_thumbnail, proxy_path, save_proxy
from .icc import build_profile
from .metadata import MetadataPolicy
from .probe import DEFAULT_MAX_PIXELS, probe
from .types import DecodedImage, DepthMap, ImageInfo, RawOptions

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "CorruptImage",
    "DecodedImage",
    "DepthMap",
    "ImageIOError",
    "ImageInfo",
    "ImageTooLarge",
    "MetadataPolicy",
    "RawOptions",
    "UnsupportedFormat",
    "build_profile",
    "cached_proxy",
    "decode",
    "encode",
    "encode_8bit",
    "load_proxy",
    "make_proxy",
    "make_thumbnail",
    "probe",
    "proxy_path",
    "read_embedded_depth",
    "save_proxy",
]
