"""White balance as a Bradford chromatic adaptation in linear Rec.2020.

The slider names the light the scene was lit by (Lightroom's convention): that white is adapted
to D65, so a higher temperature warms the picture. Tint moves the source white off the
Planckian/daylight locus by a Duv of tint/150 * 0.02 (+ = the light was greener, so the
correction adds magenta).
"""

from __future__ import annotations

import numpy as np

from kernels.ops.stage import PixelStage
from kernels.params import WhiteBalance

# Linear Rec.2020 -> CIE XYZ (D65).
REC2020_TO_XYZ = np.array(
    [
        [0.636958, 0.144617, 0.168881],
        [0.262700, 0.677998, 0.059302],
        [0.000000, 0.028073, 1.060985],
    ]
)
BRADFORD = np.array(
    [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]
)
D65_CCT = 6504.0


def _planck_uv(t: float) -> tuple[float, float]:
    """CIE 1960 uv of a black body (Krystek's rational approximation, 1000-15000 K)."""
    u = (0.860117757 + 1.54118254e-4 * t + 1.28641212e-7 * t * t) / (
        1 + 8.42420235e-4 * t + 7.08145163e-7 * t * t
    )
    v = (0.317398726 + 4.22806245e-5 * t + 4.20481691e-8 * t * t) / (
        1 - 2.89741816e-5 * t + 1.61456053e-7 * t * t
    )
    return u, v


def illuminant_xy(temperature: float, tint: float) -> tuple[float, float]:
    """Chromaticity of the scene light: the Planckian locus (clamped to its fitted range),
    moved along the locus normal by the tint."""
    t = float(np.clip(temperature, 1000.0, 15000.0))
    u, v = _planck_uv(t)
    du, dv = np.subtract(_planck_uv(t + 1.0), _planck_uv(t - 1.0))
    norm = np.hypot(du, dv)
    # The normal pointing to green (+v side of the locus), scaled to Duv.
    nu, nv = -dv / norm, du / norm
    if nv < 0:
        nu, nv = -nu, -nv
    duv = tint / 150.0 * 0.02
    u, v = u + nu * duv, v + nv * duv
    x = 3 * u / (2 * u - 8 * v + 4)
    y = 2 * v / (2 * u - 8 * v + 4)
    return x, y


def _xy_to_xyz(x: float, y: float) -> np.ndarray:
    return np.array([x / y, 1.0, (1 - x - y) / y])


def adaptation_matrix(wb: WhiteBalance) -> np.ndarray:
    """3x3 matrix on linear Rec.2020 taking the scene white to D65 (float64)."""
    temperature = wb.temperature if wb.temperature is not None else D65_CCT
    src = _xy_to_xyz(*illuminant_xy(temperature, wb.tint))
    # Reference white: the same locus at 6504 K so that (6504 K, tint 0) is exactly neutral.
    dst = _xy_to_xyz(*illuminant_xy(D65_CCT, 0.0))
    gain = (BRADFORD @ dst) / (BRADFORD @ src)
    cat = np.linalg.inv(BRADFORD) @ np.diag(gain) @ BRADFORD
    return np.linalg.inv(REC2020_TO_XYZ) @ cat @ REC2020_TO_XYZ


def reference(rgb: np.ndarray, p: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    m = p.reshape(3, 3).astype(np.float32)
    return np.einsum("hwc,kc->hwk", rgb, m).astype(np.float32)


def stage(wb: WhiteBalance) -> PixelStage | None:
    if wb.is_identity():
        return None
    return PixelStage("white_balance", adaptation_matrix(wb).astype(np.float32).ravel(), reference)
