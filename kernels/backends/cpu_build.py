"""Host build of the CUDA sources: C++ through the CPU shim, OpenMP SIMD loops, one shared
library per source, cached on disk by the hash of everything that goes into it.

Cache directory: $ORLUME_KERNEL_CACHE, else $XDG_CACHE_HOME/orlume/kernels (~/.cache/...). A
file lock per hash stops concurrent workers racing the same build; the library is written to a
temporary name and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

log = logging.getLogger(__name__)

CUDA_DIR = Path(__file__).resolve().parent.parent / "cuda"
# -march=native: the library is built on the host that runs it (the hash includes the CPU
# model). No -ffast-math: NaN/inf keep their meaning; the kernels avoid libm in their loops.
CXXFLAGS = [
    "-O3",
    "-march=native",
    "-mprefer-vector-width=512",
    "-fopenmp",
    "-fPIC",
    "-shared",
    "-fno-math-errno",
    # No FP traps are used; without this GCC will not if-convert float->int and conditional
    # arithmetic, and the per-pixel loops stay scalar ("control flow in loop").
    "-fno-trapping-math",
    "-std=c++17",
]

_loaded: dict[str, ctypes.CDLL] = {}
_loaded_lock = threading.Lock()


class BuildError(RuntimeError):
    pass


def compiler() -> str | None:
    return os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")


def cache_dir() -> Path:
    explicit = os.environ.get("ORLUME_KERNEL_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "orlume" / "kernels"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "flags")):
                return line
    except OSError:
        pass
    return platform.processor() or platform.machine()


def source_hash(source: str) -> str:
    h = hashlib.sha256(source.encode())
    for path in sorted(CUDA_DIR.iterdir()):
        if path.suffix in {".cu", ".cuh", ".h"}:
            h.update(path.name.encode())
            h.update(path.read_bytes())
    h.update(" ".join([str(compiler()), *CXXFLAGS, _cpu_model()]).encode())
    return h.hexdigest()[:24]


def load(source: str, name: str) -> ctypes.CDLL:
    """Build `source` (C++ that includes files of kernels/cuda) if not cached, and load it."""
    digest = source_hash(source)
    with _loaded_lock:
        if digest in _loaded:
            return _loaded[digest]
        cache = cache_dir()
        cache.mkdir(parents=True, exist_ok=True)
        lib_path = cache / f"{name}-{digest}.so"
        if not lib_path.exists():
            with open(cache / f"{name}-{digest}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not lib_path.exists():  # another process may have built it meanwhile
                    _compile(source, lib_path)
        lib = ctypes.CDLL(str(lib_path))
        _loaded[digest] = lib
        return lib


def _compile(source: str, lib_path: Path) -> None:
    cxx = compiler()
    if cxx is None:
        raise BuildError("no C++ compiler found (set CXX or install g++)")
    with tempfile.TemporaryDirectory(dir=lib_path.parent) as tmp:
        src = Path(tmp) / "kernels.cpp"
        src.write_text(source)
        out = Path(tmp) / "lib.so"
        cmd = [cxx, *CXXFLAGS, "-I", str(CUDA_DIR), "-x", "c++", str(src), "-o", str(out)]
        log.info("building CPU kernels %s", lib_path.name)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 - our compiler, our source
        if proc.returncode != 0:
            raise BuildError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
        os.replace(out, lib_path)
