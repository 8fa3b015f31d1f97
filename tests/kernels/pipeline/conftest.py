from __future__ import annotations

import numpy as np
import pytest

from kernels.backends.cpu import CpuBackend
from kernels.backends.numpy_ref import NumpyBackend


@pytest.fixture(scope="session")
def cpu() -> CpuBackend:
    return CpuBackend()


@pytest.fixture(scope="session")
def ref() -> NumpyBackend:
    return NumpyBackend()


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    from skimage import data, transform

    img = transform.resize(data.coffee(), (60, 80), anti_aliasing=True)
    return (np.power(img, 2.2) * 1.3).astype(np.float32)
