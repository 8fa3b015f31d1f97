// Contrast, highlights, shadows, whites, blacks: a tone function of scene luminance in stops
// around middle grey (0.18), applied as a gain on RGB so hue and saturation are kept.
// P: contrast, highlights, shadows, whites, blacks (each slider / 100).
#include "common.cuh"

__device__ float light_sigmoid(float z) { return 1.0f / (1.0f + k_exp2(-z)); }

__device__ void light_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    // Written without branches so the host loop vectorises (the GPU does not mind either).
    float Y = k_luma(r, g, b);
    float L = k_log2(k_max(Y, 1e-6f) * (1.0f / 0.18f));
    float L2 = L * k_exp2(0.6f * P[0]);
    L2 += 1.5f * P[1] * light_sigmoid(2.0f * (L - 1.0f));
    L2 += 1.5f * P[2] * light_sigmoid(-2.0f * (L + 1.5f));
    L2 += 1.0f * P[3] * light_sigmoid(3.0f * (L - 2.2f));
    L2 += 1.0f * P[4] * light_sigmoid(-3.0f * (L + 4.0f));
    float gain = Y > 1e-6f ? k_exp2(L2 - L) : 1.0f;  // black and negative: no tone to move
    r *= gain; g *= gain; b *= gain;
}
PIXEL_KERNEL(light_kernel, light_px)
