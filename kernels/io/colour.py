"""Exact colour maths between RGB encodings and the working space (linear Rec.2020, D65).

Matrices come from the published primaries and white points (float64, then float32 for use);
ProPhoto is D50 and is Bradford-adapted to D65, as LittleCMS does for ICC matrix-shaper pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

D65 = (0.3127, 0.3290)
D50 = (0.3457, 0.3585)
# The ICC profile connection space white (D50 as s15Fixed16 in the spec), for profile building.
ICC_D50_XYZ = (0.9642, 1.0, 0.8249)

PRIMARIES: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "srgb": ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060)),
    "display-p3": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)),
    "adobe-rgb": ((0.640, 0.330), (0.210, 0.710), (0.150, 0.060)),
    "prophoto": ((0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001)),
    "rec2020": ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046)),
}
WHITES = {"srgb": D65, "display-p3": D65, "adobe-rgb": D65, "prophoto": D50, "rec2020": D65}

_BRADFORD = np.array(
    [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]
)


def xy_to_xyz(xy: tuple[float, float]) -> F64:
    x, y = xy
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def rgb_to_xyz_matrix(space: str) -> F64:
    """RGB (linear) to XYZ relative to the space's own white."""
    prim = np.stack([xy_to_xyz(p) for p in PRIMARIES[space]], axis=1)
    scale = np.linalg.solve(prim, xy_to_xyz(WHITES[space]))
    return prim * scale


def bradford(src_white_xyz: F64, dst_white_xyz: F64) -> F64:
    src = _BRADFORD @ src_white_xyz
    dst = _BRADFORD @ dst_white_xyz
    return np.linalg.inv(_BRADFORD) @ np.diag(dst / src) @ _BRADFORD


def to_d65_xyz_matrix(space: str) -> F64:
    m = rgb_to_xyz_matrix(space)
    if WHITES[space] != D65:
        m = bradford(xy_to_xyz(WHITES[space]), xy_to_xyz(D65)) @ m
    return m


@cache
def matrix_between(src: str, dst: str) -> F64:
    """Linear RGB in `src` to linear RGB in `dst`, through D65 XYZ."""
    return np.linalg.inv(to_d65_xyz_matrix(dst)) @ to_d65_xyz_matrix(src)


# ---- transfer functions: encoded value (0..1) <-> linear light --------------------------------


def srgb_to_linear(v: F32) -> F32:
    v = np.asarray(v, dtype=np.float32)
    a = np.abs(v)  # mirrored, so out-of-range float data survives a round trip
    out = np.where(a <= 0.04045, a / 12.92, ((a + 0.055) / 1.055) ** 2.4)
    return np.copysign(out, v).astype(np.float32)


def linear_to_srgb(v: F32) -> F32:
    v = np.asarray(v, dtype=np.float32)
    a = np.abs(v)
    out = np.where(a <= 0.0031308, a * 12.92, 1.055 * a ** (1 / 2.4) - 0.055)
    return np.copysign(out, v).astype(np.float32)


ADOBE_GAMMA = 563 / 256  # 2.19921875, exactly what the Adobe RGB (1998) spec and profile use


def _gamma(g: float) -> tuple[Callable[[F32], F32], Callable[[F32], F32]]:
    def to_lin(v: F32) -> F32:
        v = np.asarray(v, dtype=np.float32)
        return np.copysign(np.abs(v) ** np.float32(g), v).astype(np.float32)

    def to_enc(v: F32) -> F32:
        v = np.asarray(v, dtype=np.float32)
        return np.copysign(np.abs(v) ** np.float32(1 / g), v).astype(np.float32)

    return to_lin, to_enc


def romm_to_linear(v: F32) -> F32:
    v = np.asarray(v, dtype=np.float32)
    a = np.abs(v)
    out = np.where(a < 16 / 512, a / 16, a**1.8)
    return np.copysign(out, v).astype(np.float32)


def linear_to_romm(v: F32) -> F32:
    v = np.asarray(v, dtype=np.float32)
    a = np.abs(v)
    out = np.where(a < 1 / 512, a * 16, a ** (1 / 1.8))
    return np.copysign(out, v).astype(np.float32)


def _identity(v: F32) -> F32:
    return np.asarray(v, dtype=np.float32)


@dataclass(frozen=True, eq=False)  # hashed by identity: instances are cached
class Encoding:
    """An RGB encoding: primaries (by space name or explicit matrix) plus transfer function."""

    name: str
    to_linear: Callable[[F32], F32]
    to_encoded: Callable[[F32], F32]
    to_working: F64  # 3x3, linear RGB of this encoding -> linear Rec.2020


def _known(space: str, linear: bool = False) -> Encoding:
    if linear:
        return Encoding(f"linear-{space}", _identity, _identity, matrix_between(space, "rec2020"))
    to_lin, to_enc = {
        "srgb": (srgb_to_linear, linear_to_srgb),
        "display-p3": (srgb_to_linear, linear_to_srgb),
        "adobe-rgb": _gamma(ADOBE_GAMMA),
        "prophoto": (romm_to_linear, linear_to_romm),
        "rec2020": (srgb_to_linear, linear_to_srgb),  # rarely met encoded; sRGB curve is our pick
    }[space]
    return Encoding(space, to_lin, to_enc, matrix_between(space, "rec2020"))


@cache
def encoding(name: str) -> Encoding:
    """`srgb`, `display-p3`, `adobe-rgb`, `prophoto`, `rec2020`, or `linear-<one of those>`."""
    if name.startswith("linear-"):
        return _known(name.removeprefix("linear-"), linear=True)
    if name not in PRIMARIES:
        raise ValueError(f"unknown colour space {name!r}")
    return _known(name)


OUTPUT_PROFILES = ("srgb", "display-p3", "adobe-rgb")
