"""Backend selection: CUDA (PyCUDA, GPU hosts) > CPU (host build of the same sources) > NumPy
(the reference, always there)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from kernels.backends.base import Backend

log = logging.getLogger(__name__)

PREFERENCE = ("cuda", "cpu", "numpy")


@functools.cache
def _cuda_usable() -> bool:
    try:
        from kernels.backends import cuda

        return cuda.device_available()
    except Exception as exc:  # no pycuda, no driver, no device: all mean "not here"
        log.debug("CUDA backend unavailable: %s", exc)
        return False


def _cpu_usable() -> bool:
    from kernels.backends import cpu_build

    return cpu_build.compiler() is not None


def available_backends() -> list[str]:
    """Backends usable on this host, best first."""
    usable: dict[str, Callable[[], bool]] = {
        "cuda": _cuda_usable,
        "cpu": _cpu_usable,
        "numpy": lambda: True,
    }
    return [name for name in PREFERENCE if usable[name]()]


def best_backend() -> str:
    return available_backends()[0]


@functools.cache
def _instance(name: str) -> Backend:
    if name == "numpy":
        from kernels.backends.numpy_ref import NumpyBackend

        return NumpyBackend()
    if name == "cpu":
        from kernels.backends.cpu import CpuBackend

        return CpuBackend()
    if name == "cuda":
        from kernels.backends.cuda import CudaBackend

        return CudaBackend()
    raise ValueError(f"unknown backend {name!r}; choose from {', '.join(PREFERENCE)} or 'auto'")


def get_backend(backend: str | Backend = "auto") -> Backend:
    """A backend instance by name ('auto' = best available) or the instance itself."""
    if isinstance(backend, Backend):
        return backend
    name = best_backend() if backend == "auto" else backend
    return _instance(name)
