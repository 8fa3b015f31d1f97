// Vibrance and saturation around luminance: saturation scales chroma uniformly (-100 gives
// exact grey), vibrance scales it more where the pixel is less saturated.
// P[0]: vibrance / 100, P[1]: saturation / 100.
#include "common.cuh"

__device__ void saturation_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    float Y = k_luma(r, g, b);
    float mx = k_max(r, k_max(g, b));
    float mn = k_min(r, k_min(g, b));
    float s = mx > 1e-8f ? k_clamp((mx - mn) * k_rcp(k_max(mx, 1e-8f)), 0.0f, 1.0f) : 0.0f;
    float k = (1.0f + P[1]) * (1.0f + P[0] * (1.0f - s));
    r = Y + (r - Y) * k;
    g = Y + (g - Y) * k;
    b = Y + (b - Y) * k;
}
PIXEL_KERNEL(saturation_kernel, saturation_px)
