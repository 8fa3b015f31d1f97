"""The host build: cached on disk by source hash, safe under concurrent first use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kernels.backends import cpu_build

SOURCE = '#include "exposure.cu"\nextern "C" int answer() { return 42; }\n'


def test_a_build_is_cached_by_source_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORLUME_KERNEL_CACHE", str(tmp_path))
    lib = cpu_build.load(SOURCE, "probe")
    assert lib.answer() == 42
    built = list(tmp_path.glob("probe-*.so"))
    assert len(built) == 1
    assert cpu_build.source_hash(SOURCE) in built[0].name
    assert cpu_build.source_hash(SOURCE + "// changed\n") != cpu_build.source_hash(SOURCE)


def test_concurrent_first_use_builds_once(tmp_path: Path) -> None:
    code = (
        "from kernels.backends import cpu_build;"
        f"print(cpu_build.load({SOURCE + '// concurrent' + chr(10)!r}, 'race').answer())"
    )
    env = {"ORLUME_KERNEL_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin:/usr/local/bin"}
    root = Path(__file__).resolve().parents[3]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], cwd=root, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert outputs == ["42"] * 3
    assert len(list(tmp_path.glob("race-*.so"))) == 1
    assert not [p for p in tmp_path.iterdir() if p.is_dir()], "no temporary build left behind"


def test_a_compile_error_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORLUME_KERNEL_CACHE", str(tmp_path))
    with pytest.raises(cpu_build.BuildError, match="failed"):
        cpu_build.load("this is not C++", "broken")
