"""Camera RAW through LibRaw (rawpy): demosaic, as-shot white balance, linear 16-bit output
straight into Rec.2020 (LibRaw applies the camera matrix), then to float."""

from __future__ import annotations

import io

import numpy as np
import rawpy

from .errors import CorruptImage, UnsupportedFormat
from .types import RawOptions

DEMOSAIC = {
    "ahd": rawpy.DemosaicAlgorithm.AHD,
    "aahd": rawpy.DemosaicAlgorithm.AAHD,
    "dcb": rawpy.DemosaicAlgorithm.DCB,
    "dht": rawpy.DemosaicAlgorithm.DHT,
    "vng": rawpy.DemosaicAlgorithm.VNG,
    "ppg": rawpy.DemosaicAlgorithm.PPG,
    "linear": rawpy.DemosaicAlgorithm.LINEAR,
}
HIGHLIGHTS = {
    "clip": rawpy.HighlightMode.Clip,
    "unclip": rawpy.HighlightMode.Ignore,
    "blend": rawpy.HighlightMode.Blend,
    "reconstruct": rawpy.HighlightMode.ReconstructDefault,
}


def open_raw(data: bytes, fmt: str) -> rawpy.RawPy:
    try:
        return rawpy.imread(io.BytesIO(data))
    except rawpy.LibRawFileUnsupportedError as e:
        raise UnsupportedFormat(f"this {fmt.upper()} variant is not supported: {e}") from e
    except (rawpy.LibRawError, rawpy.NotSupportedError) as e:
        raise CorruptImage(f"the {fmt.upper()} file cannot be read: {e}") from e


def decode_raw(data: bytes, fmt: str, options: RawOptions) -> np.ndarray:
    if options.demosaic not in DEMOSAIC or options.highlights not in HIGHLIGHTS:
        raise ValueError(f"unknown RAW options {options}")
    with open_raw(data, fmt) as raw:
        try:
            rgb16 = raw.postprocess(
                demosaic_algorithm=DEMOSAIC[options.demosaic],
                highlight_mode=HIGHLIGHTS[options.highlights],
                use_camera_wb=options.use_camera_wb,
                half_size=options.half_size,
                output_color=rawpy.ColorSpace.Rec2020,
                output_bps=16,
                gamma=(1, 1),  # linear: the working space is scene-linear
                no_auto_bright=True,  # exposure is the develop kernels' job, not the decoder's
                user_flip=None,  # LibRaw applies the camera's orientation
            )
        except (rawpy.LibRawError, rawpy.NotSupportedError) as e:
            raise CorruptImage(f"the {fmt.upper()} data cannot be developed: {e}") from e
    return rgb16.astype(np.float32) * np.float32(1 / 65535)


def embedded_preview(data: bytes, fmt: str) -> bytes | np.ndarray | None:
    """The camera's own JPEG (or bitmap) preview, for fast thumbnails; None when absent."""
    with open_raw(data, fmt) as raw:
        try:
            thumb = raw.extract_thumb()
        except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
            return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        return bytes(thumb.data)
    return np.asarray(thumb.data)
