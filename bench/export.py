#!/usr/bin/env python
"""Exports per minute for one 24 MP JPEG q90 export: Orlume's chain (exports.rendering, decode →
develop → encode, on the CPU backend or the GPU where one is) beside the same chain written with
pyvips and with Pillow + NumPy. The develop step everywhere: linear light, +0.5 EV, clip.

    python bench/export.py [--megapixels 24] [--runs 3] [--backend cpu]

Prints one line per chain and the ratios. Nothing here asserts: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from exports import rendering
from kernels.params import DevelopSettings, Light

EV = 0.5


def make_source(megapixels: float) -> bytes:
    width = int((megapixels * 1e6 * 3 / 2) ** 0.5)
    height = int(width * 2 / 3)
    rng = np.random.default_rng(7)
    # A smooth gradient with noise: compresses like a photograph, not like static.
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([x / width, y / height, (x + y) / (width + height)], axis=2) * 200 + 20
    pixels = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=95)
    return out.getvalue()


def orlume_chain(backend: str) -> Callable[[bytes], bytes]:
    settings = DevelopSettings(light=Light(exposure=EV))
    options = rendering.RenderOptions(format="jpeg", quality=90)
    return lambda data: rendering.render_file(data, settings, options, backend=backend)


def pillow_numpy(data: bytes) -> bytes:
    im = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32) / 255.0
    lin = np.where(im <= 0.04045, im / 12.92, ((im + 0.055) / 1.055) ** 2.4)
    lin = np.clip(lin * np.float32(2.0**EV), 0.0, 1.0)
    enc = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)
    out = io.BytesIO()
    Image.fromarray((enc * 255.0 + 0.5).astype(np.uint8)).save(out, format="JPEG", quality=90)
    return out.getvalue()


def pyvips_chain(data: bytes) -> bytes:
    import pyvips

    im = pyvips.Image.new_from_buffer(data, "", access="sequential")
    lin = im.colourspace("scrgb")  # linear light, float
    lin = (lin * (2.0**EV)).clamp(min=0, max=1)
    return bytes(lin.colourspace("srgb").cast("uchar").jpegsave_buffer(Q=90))


def per_minute(chain: Callable[[bytes], bytes], data: bytes, runs: int) -> float:
    chain(data)  # warm-up (imports, caches, kernel builds)
    start = time.perf_counter()
    for _ in range(runs):
        chain(data)
    return 60.0 * runs / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=24.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", default="cpu", help="cpu, cuda or auto")
    args = parser.parse_args()
    data = make_source(args.megapixels)
    print(f"source: {args.megapixels:g} MP JPEG, {len(data) / 1e6:.1f} MB; CPUs: {os.cpu_count()}")
    print(f"renderer: {rendering.renderer_version()}, best backend: {rendering.best_backend()}")
    chains: dict[str, Callable[[bytes], bytes]] = {
        f"orlume ({args.backend})": orlume_chain(args.backend),
        "pyvips": pyvips_chain,
        "pillow+numpy": pillow_numpy,
    }
    rates = {name: per_minute(chain, data, args.runs) for name, chain in chains.items()}
    ours = rates[f"orlume ({args.backend})"]
    for name, rate in rates.items():
        print(f"{name:>20}: {rate:7.2f} exports/min   orlume/this = {ours / rate:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
