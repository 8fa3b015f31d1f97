// Tone curve: per-channel tables baked on the host (parametric regions, then point curves, all
// defined on gamma-2.2 encoded values) mapping linear input to linear output, sampled at every
// 1/128 octave of linear input from lo = 2^-20 to 1 and indexed by the float's bits
// (k_bits_index: no square root, no power). Above 1 the curve's end gain continues; below lo
// the gain at lo does (down to 0); zero and negative values pass through.
// P[0]: m, the segments from lo to 1; P[1]: lo; P[2]: 1 / lo; P[3]: 1 (a bound read from P, not
// a literal: GCC compiles a min or max against a literal into a compare and a blend); P[4..6]:
// the first segment of R's, G's and B's table; then the distinct tables, m + 1 (value, slope) pairs each (k_lerp_pair),
// the last (value at 1, 0): channels with the same curve (a luma-only curve: all three) share
// one, a third of the cache footprint of three copies.
#include "common.cuh"

// T: the tables, base: the first segment of this channel's. Indices are 32-bit offsets from one
// base pointer, so the host loop vectorises with 32-bit-index gathers. Both ends as one scale of
// the table's value at v clamped to [lo, 1]: v / clamp(v, lo, 1) = max(v, 1) min(v / lo, 1),
// exactly 1 in between (1 / lo is a power of two); where three selects cost twice as much.
__device__ float tone_curve_channel(float v, const float* __restrict__ T, int base, float lo,
                                    float inv_lo, float one) {
    float f;
    int i = base + k_bits_index(k_clamp(v, lo, one), lo, f);
    float out = k_lerp_pair(T, i, f) * (k_max(v, one) * k_min(v * inv_lo, one));
    return v > 0.0f ? out : v;
}

__device__ void tone_curve_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    const float lo = P[1], inv_lo = P[2], one = P[3];
    const float* T = P + 7;
    r = tone_curve_channel(r, T, (int)P[4], lo, inv_lo, one);
    g = tone_curve_channel(g, T, (int)P[5], lo, inv_lo, one);
    b = tone_curve_channel(b, T, (int)P[6], lo, inv_lo, one);
}
PIXEL_KERNEL(tone_curve_kernel, tone_curve_px)
