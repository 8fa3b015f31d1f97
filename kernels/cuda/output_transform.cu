// Output transform to display-referred [0, 1]: negative channels are desaturated toward
// luminance until in gamut, then the brightest channel rolls off above a knee (hue kept,
// highlights drift toward white) and everything is clipped.
// P[0]: knee.
#include "common.cuh"

__device__ void output_transform_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    float Y = k_max(k_luma(r, g, b), 0.0f);
    float mn = k_min(r, k_min(g, b));
    if (mn < 0.0f) {
        float t = Y / (Y - mn);
        r = Y + (r - Y) * t; g = Y + (g - Y) * t; b = Y + (b - Y) * t;
    }
    float knee = P[0];
    float mx = k_max(r, k_max(g, b));
    if (mx > knee) {
        float z = (mx - knee) / (1.0f - knee);
        float s = z / (1.0f + z);
        float m2 = knee + (1.0f - knee) * s;
        float gain = m2 / mx;
        float d = s * s;
        r = r * gain + (m2 - r * gain) * d;
        g = g * gain + (m2 - g * gain) * d;
        b = b * gain + (m2 - b * gain) * d;
    }
    r = k_clamp(r, 0.0f, 1.0f); g = k_clamp(g, 0.0f, 1.0f); b = k_clamp(b, 0.0f, 1.0f);
}
PIXEL_KERNEL(output_transform_kernel, output_transform_px)

#ifndef __CUDACC__
// Host: a chunk with no negative channel and none above the knee only clamps (the same values:
// both branches above leave such a pixel alone), which most chunks of a photograph are; a
// chunk with any such pixel runs the per-pixel form on all of it.
__device__ void output_transform_chunk(float* __restrict R, float* __restrict G,
                                       float* __restrict B, long n, float x0, float y,
                                       const float* __restrict P) {
    float mn = 0.0f, mx = 0.0f;
#pragma omp simd reduction(min : mn) reduction(max : mx)
    for (long i = 0; i < n; ++i) {
        mn = k_min(mn, k_min(R[i], k_min(G[i], B[i])));
        mx = k_max(mx, k_max(R[i], k_max(G[i], B[i])));
    }
    if (mn < 0.0f || mx > P[0]) {
#pragma omp simd
        for (long i = 0; i < n; ++i) output_transform_px(R[i], G[i], B[i], x0 + (float)i, y, P);
        return;
    }
#pragma omp simd
    for (long i = 0; i < n; ++i) {  // NaN -> 0, as k_clamp does in the per-pixel form
        R[i] = k_clamp(R[i], 0.0f, 1.0f);
        G[i] = k_clamp(G[i], 0.0f, 1.0f);
        B[i] = k_clamp(B[i], 0.0f, 1.0f);
    }
}
#endif
