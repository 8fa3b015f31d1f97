// Contrast, highlights, shadows, whites, blacks: a tone function of scene luminance in stops
// around middle grey (0.18), baked on the host to a gain table over stops and applied as an RGB
// gain so hue and saturation are kept. Branch-free so the host loop vectorises.
// P: n, first stop, 1 / step, then n gains.
#include "common.cuh"

__device__ void light_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    float Y = k_luma(r, g, b);
    int n = (int)P[0];
    float L = k_log2(k_max(Y, 1e-6f) * (1.0f / 0.18f));
    float fi = k_clamp((L - P[1]) * P[2], 0.0f, (float)(n - 1));
    int i = k_floor_int(fi);
    i = i > n - 2 ? n - 2 : i;
    float f = fi - (float)i;
    const float* T = P + 3;
    float gain = T[i] + (T[i + 1] - T[i]) * f;
    gain = Y > 1e-6f ? gain : 1.0f;  // black and negative luminance: no tone to move
    r *= gain; g *= gain; b *= gain;
}
PIXEL_KERNEL(light_kernel, light_px)
