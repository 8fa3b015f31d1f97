// HSL colour mixer: eight hue bands with smooth (C1) weights that sum to one, scaled by the
// pixel's saturation so greys are untouched. Hue from the HSV hexcone of linear RGB.
// P: 8 bands x (centre deg, width to previous band, width to next band, hue shift deg,
//    saturation delta, luminance delta in stops).
#include "common.cuh"

__device__ float hsl_channel(float n, float hue6, float v, float c) {
    float k = n + hue6;
    k = k >= 6.0f ? k - 6.0f : k;
    float t = k_clamp(k_min(k, 4.0f - k), 0.0f, 1.0f);
    return v - c * t;
}

__device__ void hsl_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    float mx = k_max(r, k_max(g, b));
    float mn = k_min(r, k_min(g, b));
    float c = mx - mn;
    if (!(mx > 1e-8f) || !(c > 1e-7f * mx)) return;
    float h6 = (mx == r) ? (g - b) / c : ((mx == g) ? (b - r) / c + 2.0f : (r - g) / c + 4.0f);
    h6 = h6 < 0.0f ? h6 + 6.0f : h6;
    float hue = h6 * 60.0f;
    float sat = k_clamp(c / mx, 0.0f, 1.0f);
    float dh = 0.0f, ds = 0.0f, dl = 0.0f;
    for (int i = 0; i < 8; ++i) {
        const float* B = P + 6 * i;
        float d = hue - B[0];
        d = d > 180.0f ? d - 360.0f : (d <= -180.0f ? d + 360.0f : d);
        float t = d >= 0.0f ? d / B[2] : -d / B[1];
        t = k_min(t, 1.0f);
        float w = 1.0f - t * t * (3.0f - 2.0f * t);
        dh += w * B[3]; ds += w * B[4]; dl += w * B[5];
    }
    float hue2 = hue + dh * sat;
    hue2 = hue2 < 0.0f ? hue2 + 360.0f : (hue2 >= 360.0f ? hue2 - 360.0f : hue2);
    float h62 = hue2 * (1.0f / 60.0f);
    r = hsl_channel(5.0f, h62, mx, c);
    g = hsl_channel(3.0f, h62, mx, c);
    b = hsl_channel(1.0f, h62, mx, c);
    float Y = k_luma(r, g, b);
    float k = 1.0f + ds * sat;
    float gain = k_exp2(dl * sat);
    r = (Y + (r - Y) * k) * gain;
    g = (Y + (g - Y) * k) * gain;
    b = (Y + (b - Y) * k) * gain;
}
PIXEL_KERNEL(hsl_kernel, hsl_px)
