// Tone curve: per-channel tables baked on the host (parametric regions, then point curves, all
// defined on gamma-2.2 encoded values) mapping linear input to linear output, indexed by
// sqrt(v): one vector square root instead of two powers per channel. Above 1 the curve's end
// gain continues linearly; zero and negative values pass through.
// P[0]: table size n; then n entries each for R, G, B at v = (i / (n - 1))^2.
#include "common.cuh"

// T: the three tables, base: the first entry of this channel's. Indices are 32-bit offsets from
// one base pointer, so the host loop vectorises with 32-bit-index gathers.
// end: the channel's last entry, loaded by the caller so that no load sits under the u >= 1
// select (GCC would make it a masked load and give up vectorising).
__device__ float tone_curve_channel(float v, const float* __restrict__ T, int base, int n, float end) {
    float u = sqrtf(k_max(v, 0.0f));
    float fi = k_min(u, 1.0f) * (float)(n - 1);
    int i = k_floor_int(fi);
    i = i > n - 2 ? n - 2 : i;
    float f = fi - (float)i;
    float lo = T[base + i], hi = T[base + i + 1];
    float inside = lo + (hi - lo) * f;
    float out = u >= 1.0f ? v * end : inside;
    return v > 0.0f ? out : v;
}

__device__ void tone_curve_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    int n = (int)P[0];
    const float* T = P + 1;
    const float end_r = T[n - 1], end_g = T[2 * n - 1], end_b = T[3 * n - 1];
    r = tone_curve_channel(r, T, 0, n, end_r);
    g = tone_curve_channel(g, T, n, n, end_g);
    b = tone_curve_channel(b, T, 2 * n, n, end_b);
}
PIXEL_KERNEL(tone_curve_kernel, tone_curve_px)
