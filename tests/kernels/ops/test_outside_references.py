"""Our kernels against libraries we did not write: OpenCV's Gaussian blur and unsharp mask,
Pillow's Lanczos resize. Tolerances are float32 rounding of a different summation order."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from kernels.backends.base import Backend
from kernels.ops import geometry, sharpen
from kernels.ops.blur import gaussian_blur, gaussian_radius
from kernels.params import Sharpening

OUTSIDE_ATOL = 1e-5  # measured ~2e-7 on values in [0, 1.2]


@pytest.fixture(params=["cpu", "ref"])
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("sigma", [0.8, 2.5])
def test_gaussian_blur_agrees_with_opencv(
    backend: Backend, photo: np.ndarray, sigma: float
) -> None:
    ksize = 2 * gaussian_radius(sigma) + 1
    expected = cv2.GaussianBlur(photo, (ksize, ksize), sigma, borderType=cv2.BORDER_REFLECT_101)
    np.testing.assert_allclose(gaussian_blur(backend, photo, sigma), expected, atol=OUTSIDE_ATOL)


def test_unsharp_mask_agrees_with_opencv_on_a_grey_image(
    backend: Backend, photo: np.ndarray
) -> None:
    grey = np.repeat(photo.mean(axis=-1, keepdims=True), 3, axis=-1).astype(np.float32)
    settings = Sharpening(amount=80, radius=1.2, detail=100, masking=0)  # a plain unsharp mask
    op = sharpen.Sharpen(settings)
    op.prepare(backend, grey)
    ours = op.run(backend, grey, 0)
    y = grey[..., 0]
    k = 2 * gaussian_radius(1.2) + 1
    blurred = cv2.GaussianBlur(y, (k, k), 1.2, borderType=cv2.BORDER_REFLECT_101)
    expected = cv2.addWeighted(y, 1.8, blurred, -0.8, 0)
    for c in range(3):
        np.testing.assert_allclose(ours[..., c], expected, atol=OUTSIDE_ATOL)


@pytest.mark.parametrize("size", [(41, 29), (150, 110), (96, 40)])
def test_lanczos_resize_agrees_with_pillow(
    backend: Backend, photo: np.ndarray, size: tuple[int, int]
) -> None:
    """Shrinking (antialiased), enlarging, and one axis only."""
    ours = geometry.resize(backend, photo, *size)
    expected = np.stack(
        [
            np.asarray(
                Image.fromarray(photo[..., c], mode="F").resize(size, Image.Resampling.LANCZOS)
            )
            for c in range(3)
        ],
        axis=-1,
    )
    np.testing.assert_allclose(ours, expected, atol=OUTSIDE_ATOL)
