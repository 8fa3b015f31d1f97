"""Tables for the 8-bit ends of a job: decode 8-bit code values to linear light and encode
linear [0, 1] back, for any transfer curve (sRGB's by default). The image I/O library owns
colour management; these are the fast loops it (and the bench) can hand its curves to."""

from __future__ import annotations

import numpy as np

ENCODE_TABLE_SIZE = 4096  # 12-bit index: below one 8-bit step everywhere on the sRGB curve


def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)


def srgb_decode_table() -> np.ndarray:
    return srgb_to_linear(np.arange(256) / 255.0).astype(np.float32)


def srgb_encode_table(size: int = ENCODE_TABLE_SIZE) -> np.ndarray:
    return np.round(linear_to_srgb(np.linspace(0.0, 1.0, size)) * 255).astype(np.uint8)


def decode_reference(img8: np.ndarray, table: np.ndarray, swap_rb: bool = False) -> np.ndarray:
    out = table[img8]
    return out[..., ::-1].copy() if swap_rb else out


def encode_reference(img: np.ndarray, table: np.ndarray, swap_rb: bool = False) -> np.ndarray:
    n = len(table)
    idx = (np.clip(img, 0.0, 1.0) * np.float32(n - 1) + np.float32(0.5)).astype(np.int64)
    out = table[idx]
    return out[..., ::-1].copy() if swap_rb else out
