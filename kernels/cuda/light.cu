// Contrast, highlights, shadows, whites, blacks: a tone function of scene luminance in stops
// around middle grey (0.18), applied as a gain on RGB so hue and saturation are kept.
// P: contrast, highlights, shadows, whites, blacks (each slider / 100).
#include "common.cuh"

__device__ float light_sigmoid(float z) { return 1.0f / (1.0f + k_exp2(-z)); }

__device__ void light_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    float Y = k_luma(r, g, b);
    if (!(Y > 1e-6f)) return;  // black and negative luminance carry no tone to move
    float L = k_log2(Y * (1.0f / 0.18f));
    float L2 = L * k_exp2(0.6f * P[0]);
    L2 += 1.5f * P[1] * light_sigmoid(2.0f * (L - 1.0f));
    L2 += 1.5f * P[2] * light_sigmoid(-2.0f * (L + 1.5f));
    L2 += 1.0f * P[3] * light_sigmoid(3.0f * (L - 2.2f));
    L2 += 1.0f * P[4] * light_sigmoid(-3.0f * (L + 4.0f));
    float gain = k_exp2(L2 - L);
    r *= gain; g *= gain; b *= gain;
}
PIXEL_KERNEL(light_kernel, light_px)
