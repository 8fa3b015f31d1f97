from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A real photograph, 8-bit sRGB, 512x512."""
    return data.astronaut()


@pytest.fixture(scope="session")
def cat() -> np.ndarray:
    return data.chelsea()


def jpeg_bytes(arr: np.ndarray, **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", **kw)
    return buf.getvalue()


def png_bytes(arr: np.ndarray, **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG", **kw)
    return buf.getvalue()
