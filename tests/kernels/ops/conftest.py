from __future__ import annotations

import numpy as np
import pytest

from kernels.backends.cpu import CpuBackend
from kernels.backends.numpy_ref import NumpyBackend


@pytest.fixture(scope="session")
def cpu() -> CpuBackend:
    # Session-scoped: the host build is cached on disk by source hash, built once per change.
    return CpuBackend()


@pytest.fixture(scope="session")
def ref() -> NumpyBackend:
    return NumpyBackend()


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A small real photograph in linear light, with a few scene-referred extremes (above 1,
    a negative out-of-gamut channel) that every op must survive."""
    from skimage import data, transform

    img = transform.resize(data.astronaut(), (72, 96), anti_aliasing=True)
    lin = np.power(img, 2.2).astype(np.float32) * 1.2
    lin[0, :4] = [[3.0, 2.5, 2.0], [-0.05, 0.3, 0.4], [0.0, 0.0, 0.0], [0.18, 0.18, 0.18]]
    return lin
