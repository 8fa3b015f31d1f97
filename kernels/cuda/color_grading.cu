// Colour grading: shadow / midtone / highlight / global wheels as RGB gains (chroma directions
// with zero luminance, so a neutral pixel keeps its luminance) plus luminance in stops, weighted
// by the pixel's encoded luminance. P: midpoint, half width, then 4 wheels (shadows, midtones,
// highlights, global) x (gain r, g, b, luminance stops).
#include "common.cuh"

__device__ void color_grading_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    float Y = k_luma(r, g, b);
    float t = k_clamp(k_pow(Y, 1.0f / 2.2f), 0.0f, 1.0f);
    float m = P[0], w = P[1];
    float ws = 1.0f - k_smoothstep(0.0f, m + w, t);
    float wh = k_smoothstep(m - w, 1.0f, t);
    float wm = k_max(0.0f, 1.0f - ws - wh);
    const float* S = P + 2;
    const float* M = P + 6;
    const float* H = P + 10;
    const float* G = P + 14;
    float gr = 1.0f + ws * S[0] + wm * M[0] + wh * H[0] + G[0];
    float gg = 1.0f + ws * S[1] + wm * M[1] + wh * H[1] + G[1];
    float gb = 1.0f + ws * S[2] + wm * M[2] + wh * H[2] + G[2];
    float gl = k_exp2(ws * S[3] + wm * M[3] + wh * H[3] + G[3]);
    r *= gr * gl; g *= gg * gl; b *= gb * gl;
}
PIXEL_KERNEL(color_grading_kernel, color_grading_px)
