// Tone curve: per-channel tables baked on the host (parametric regions, then point curves, all
// defined on gamma-2.2 encoded values) mapping linear input to linear output, sampled at every
// 1/128 octave of linear input from lo = 2^-20 to 1 and indexed by the float's bits
// (k_bits_index: no square root, no power). Above 1 the curve's end gain continues; below lo
// the gain at lo does (down to 0); zero and negative values pass through.
// P[0]: m, the segments per table; P[1]: lo; P[2..4]: R, G, B gains below lo; P[5..7]: their
// gains above 1; P[8..10]: the first segment of R's, G's and B's table; then the distinct
// tables, m (value, slope) pairs (k_lerp_pair) each: channels with the same curve (a luma-only
// curve: all three) share one, a third of the cache footprint of three copies.
#include "common.cuh"

// T: the three tables, base: the first segment of this channel's. Indices are 32-bit offsets
// from one base pointer, so the host loop vectorises with 32-bit-index gathers.
// low, end: the channel's gains below lo and above 1, loaded by the caller so that no load sits
// under a select (GCC would make it a masked load and give up vectorising).
__device__ float tone_curve_channel(float v, const float* __restrict__ T, int base, float lo,
                                    float low, float end) {
    float f;
    int i = base + k_bits_index(k_clamp(v, lo, 0.99999994f), lo, f);
    float inside = k_lerp_pair(T, i, f);
    float out = (v >= lo) & (v < 1.0f) ? inside : v * (v >= 1.0f ? end : low);
    return v > 0.0f ? out : v;
}

__device__ void tone_curve_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    const float lo = P[1];
    const float* T = P + 11;
    r = tone_curve_channel(r, T, (int)P[8], lo, P[2], P[5]);
    g = tone_curve_channel(g, T, (int)P[9], lo, P[3], P[6]);
    b = tone_curve_channel(b, T, (int)P[10], lo, P[4], P[7]);
}
PIXEL_KERNEL(tone_curve_kernel, tone_curve_px)
