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
