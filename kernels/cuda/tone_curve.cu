// Tone curve: per-channel tables baked on the host (parametric regions, then point curves, all
// defined on gamma-2.2 encoded values) mapping linear input to linear output, indexed by
// sqrt(v): one vector square root instead of two powers per channel. Above 1 the curve's end
// gain continues linearly; zero and negative values pass through.
// P[0]: table size n; then n entries each for R, G, B at v = (i / (n - 1))^2.
#include "common.cuh"

__device__ float tone_curve_channel(float v, const float* __restrict__ lut, int n) {
    float u = sqrtf(k_max(v, 0.0f));
    float fi = k_min(u, 1.0f) * (float)(n - 1);
    int i = k_floor_int(fi);
    i = i > n - 2 ? n - 2 : i;
    float f = fi - (float)i;
    float inside = lut[i] + (lut[i + 1] - lut[i]) * f;
    float out = u >= 1.0f ? v * lut[n - 1] : inside;
    return v > 0.0f ? out : v;
}

__device__ void tone_curve_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    int n = (int)P[0];
    r = tone_curve_channel(r, P + 1, n);
    g = tone_curve_channel(g, P + 1 + n, n);
    b = tone_curve_channel(b, P + 1 + 2 * n, n);
}
PIXEL_KERNEL(tone_curve_kernel, tone_curve_px)
