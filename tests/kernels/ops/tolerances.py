"""Stated tolerances for CPU vs NumPy reference (see docs/kernels.md for why)."""

# Per-pixel chains: float32 with polynomial log2/exp2 (< 1e-6 relative) against float64 NumPy.
# 1e-5 is below one 16-bit output code (1.5e-5); measured worst case ~3e-6.
PIXEL_ATOL = 1e-5
PIXEL_RTOL = 1e-5
# Neighbourhood ops sum up to a few hundred float32 products in a different order than NumPy's
# float64: 2e-5 absolute on values of order 1.
GATHER_ATOL = 2e-5
# Mask coverage: float32 positions carry ~6e-8 of the image size in pixels (4e-4 px at 6000 px)
# and every edge spans at least a pixel (kernels/ops/masks.py), so the weight differs by at most
# ~1.5x that; luminosity and saturation thresholds span at least 1/256 against ~1e-6 of error.
# Measured 1.7e-4 at 6000 px; 1e-3 holds to ~20000 px.
MASK_ATOL = 1e-3
