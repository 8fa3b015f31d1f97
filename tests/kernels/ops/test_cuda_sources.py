"""Every CUDA source compiles with nvcc to PTX for sm_80 and sm_90, and so does a generated fused
kernel. Needs nvcc (CI has it); without it this fails rather than skips."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kernels.backends.cpu_build import CUDA_DIR
from kernels.backends.cuda import expand_includes
from kernels.backends.fused import fused_source

ALL_PIXEL_OPS = [
    "white_balance", "exposure", "light", "tone_curve", "hsl", "color_grading",
    "saturation", "vignette", "grain", "output_transform",
]  # fmt: skip


def _nvcc() -> str:
    nvcc = os.environ.get("NVCC") or shutil.which("nvcc") or "/usr/local/bin/nvcc"
    if not Path(nvcc).exists():
        pytest.fail("nvcc not found: the CUDA sources must be compiled in CI (set NVCC or PATH)")
    return nvcc


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_every_cuda_source_compiles_to_ptx(arch: str, tmp_path: Path) -> None:
    sources = sorted(CUDA_DIR.glob("*.cu"))
    fused = tmp_path / "fused_all.cu"
    fused.write_text(expand_includes(fused_source(ALL_PIXEL_OPS, "cuda")))
    cmd = [_nvcc(), "-ptx", f"-arch={arch}", "-I", str(CUDA_DIR), *map(str, sources), str(fused)]
    proc = subprocess.run(
        [*cmd, "-odir", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    for src in [*sources, fused]:
        ptx = (tmp_path / src.with_suffix(".ptx").name).read_text()
        assert f".target {arch}" in ptx
        assert ".entry" in ptx, f"{src.name} has no __global__ wrapper"
    assert ".entry fused(" in (tmp_path / "fused_all.ptx").read_text()


def test_the_cuda_backends_neighbourhood_module_compiles_as_one_unit(tmp_path: Path) -> None:
    # CudaBackend builds every neighbourhood source into one module, includes inlined once.
    from kernels.backends.cuda import NEIGHBOURHOOD

    module = tmp_path / "neighbourhood.cu"
    module.write_text(expand_includes("\n".join(f'#include "{n}.cu"' for n in NEIGHBOURHOOD)))
    cmd = [_nvcc(), "-ptx", "-arch=sm_90", "-I", str(CUDA_DIR), str(module), "-odir", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    ptx = (tmp_path / "neighbourhood.ptx").read_text()
    assert ".entry mask_kernel(" in ptx
    assert ".entry bilateral_kernel(" in ptx
