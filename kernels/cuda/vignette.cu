// Post-crop vignette: an exposure gain in stops over a superellipse distance from the centre.
// P: width, height, stops, midpoint distance, feather half width, exponent p, x scale, y scale.
#include "common.cuh"

__device__ void vignette_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    float u = k_abs(((x + 0.5f) / P[0] * 2.0f - 1.0f) * P[6]);
    float v = k_abs(((y + 0.5f) / P[1] * 2.0f - 1.0f) * P[7]);
    float p = P[5];
    float d = k_pow(k_pow(u, p) + k_pow(v, p), 1.0f / p);
    float t = k_smoothstep(P[3] - P[4], P[3] + P[4], d);
    float gain = k_exp2(P[2] * t);
    r *= gain; g *= gain; b *= gain;
}
PIXEL_KERNEL(vignette_kernel, vignette_px)
