// Tone curve: per-channel tables baked on the host (parametric regions, then point curves, all
// defined on gamma-2.2 encoded values) mapping linear input to linear output, sampled at every
// 1/128 octave of linear input from lo = 2^-20 to 1 and indexed by the float's bits
// (k_bits_index: no square root, no power). Above 1 the curve's end gain continues; below lo
// the gain at lo does (down to 0); zero and negative values pass through.
// P[0]: n, P[1]: lo; then n entries each for R, G, B, the last at v = 1.
#include "common.cuh"

// T: the three tables, base: the first entry of this channel's. Indices are 32-bit offsets from
// one base pointer, so the host loop vectorises with 32-bit-index gathers.
// low, end: the channel's gains below lo and above 1, computed by the caller so that no load
// sits under a select (GCC would make it a masked load and give up vectorising).
__device__ float tone_curve_channel(float v, const float* __restrict__ T, int base, float lo,
                                    float low, float end) {
    float f;
    int i = base + k_bits_index(k_clamp(v, lo, 0.99999994f), lo, f);
    float a = T[i], b = T[i + 1];
    float inside = a + (b - a) * f;
    float out = (v >= lo) & (v < 1.0f) ? inside : v * (v >= 1.0f ? end : low);
    return v > 0.0f ? out : v;
}

__device__ void tone_curve_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    const int n = (int)P[0];
    const float lo = P[1];
    const float* T = P + 2;
    const float inv_lo = 1.0f / lo;
    r = tone_curve_channel(r, T, 0, lo, T[0] * inv_lo, T[n - 1]);
    g = tone_curve_channel(g, T, n, lo, T[n] * inv_lo, T[2 * n - 1]);
    b = tone_curve_channel(b, T, 2 * n, lo, T[2 * n] * inv_lo, T[3 * n - 1]);
}
PIXEL_KERNEL(tone_curve_kernel, tone_curve_px)
