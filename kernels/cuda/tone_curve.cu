// Tone curve: per-channel LUTs (parametric regions and point curves baked on the host) applied in
// a gamma-2.2 encoding, where curve x/y are "display-referred 0..1". Above 1 the curve's end
// gain continues linearly; negative values pass through.
// P[0]: LUT size n; then n entries each for R, G, B.
#include "common.cuh"

__device__ float tone_curve_channel(float v, const float* __restrict__ lut, int n) {
    if (!(v > 0.0f)) return v;
    float xe = k_pow(v, 1.0f / 2.2f);
    float ye;
    if (xe >= 1.0f) {
        ye = xe * lut[n - 1];
    } else {
        float fi = xe * (float)(n - 1);
        int i = k_floor_int(fi);
        i = i > n - 2 ? n - 2 : i;
        float f = fi - (float)i;
        ye = lut[i] + (lut[i + 1] - lut[i]) * f;
    }
    return k_pow(ye, 2.2f);
}

__device__ void tone_curve_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    int n = (int)P[0];
    r = tone_curve_channel(r, P + 1, n);
    g = tone_curve_channel(g, P + 1 + n, n);
    b = tone_curve_channel(b, P + 1 + 2 * n, n);
}
PIXEL_KERNEL(tone_curve_kernel, tone_curve_px)
