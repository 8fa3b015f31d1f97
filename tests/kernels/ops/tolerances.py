"""Stated tolerances for CPU vs NumPy reference (see docs/kernels.md for why)."""

# Per-pixel chains: float32 with polynomial log2/exp2 (< 1e-6 relative) against float64 NumPy.
# 1e-5 is below one 16-bit output code (1.5e-5); measured worst case ~3e-6.
PIXEL_ATOL = 1e-5
PIXEL_RTOL = 1e-5
# Neighbourhood ops sum up to a few hundred float32 products in a different order than NumPy's
# float64: 2e-5 absolute on values of order 1.
GATHER_ATOL = 2e-5
