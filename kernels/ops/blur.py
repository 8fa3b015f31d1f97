"""Gaussian and box kernels for the separable gather convolution."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kernels.backends.base import Backend


def gaussian_radius(sigma: float) -> int:
    return max(1, math.ceil(3.0 * sigma))


def gaussian_kernel(sigma: float) -> np.ndarray:
    """Normalised Gaussian of radius ceil(3 sigma): what cv2.getGaussianKernel(2r+1, sigma)
    computes."""
    r = gaussian_radius(sigma)
    x = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return (k / k.sum()).astype(np.float32)


def box_kernel(radius: int) -> np.ndarray:
    return np.full(2 * radius + 1, 1.0 / (2 * radius + 1), dtype=np.float32)


def gaussian_blur(backend: Backend, img: np.ndarray, sigma: float) -> np.ndarray:
    k = gaussian_kernel(sigma)
    return backend.convolve(img, k, k)
