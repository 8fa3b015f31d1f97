// HSL colour mixer: eight hue bands with smooth (C1) weights that sum to one, scaled by the
// pixel's saturation so greys are untouched. Hue from the HSV hexcone of linear RGB.
// P: 8 bands x (centre deg, 1/width to previous band, 1/width to next band, hue shift deg,
//    saturation delta, luminance delta in stops).
#include "common.cuh"

__device__ float hsl_channel(float n, float hue6, float v, float c) {
    float k = n + hue6;
    k = k >= 6.0f ? k - 6.0f : k;
    float t = k_clamp(k_min(k, 4.0f - k), 0.0f, 1.0f);
    return v - c * t;
}

__device__ void hsl_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    // Branch-free (greys and black are selected back at the end) so the host loop vectorises.
    float mx = k_max(r, k_max(g, b));
    float mn = k_min(r, k_min(g, b));
    float c = mx - mn;
    int active = (mx > 1e-8f) & (c > 1e-7f * mx);
    float cs = active ? c : 1.0f;
    float h6 = (mx == r) ? (g - b) / cs : ((mx == g) ? (b - r) / cs + 2.0f : (r - g) / cs + 4.0f);
    h6 = h6 < 0.0f ? h6 + 6.0f : h6;
    float hue = h6 * 60.0f;
    float sat = k_clamp(c / (active ? mx : 1.0f), 0.0f, 1.0f);
    float dh = 0.0f, ds = 0.0f, dl = 0.0f;
    K_UNROLL
    for (int i = 0; i < 8; ++i) {
        const float* B = P + 6 * i;
        float d = hue - B[0];
        d = d > 180.0f ? d - 360.0f : (d <= -180.0f ? d + 360.0f : d);
        // The positive one of the two is the distance in band widths on the side d is on;
        // max() keeps both loads unconditional (a conditional load stops vectorisation).
        float t = k_max(d * B[2], -d * B[1]);
        t = k_min(t, 1.0f);
        float w = 1.0f - t * t * (3.0f - 2.0f * t);
        dh += w * B[3]; ds += w * B[4]; dl += w * B[5];
    }
    float hue2 = hue + dh * sat;
    hue2 = hue2 < 0.0f ? hue2 + 360.0f : (hue2 >= 360.0f ? hue2 - 360.0f : hue2);
    float h62 = hue2 * (1.0f / 60.0f);
    float r2 = hsl_channel(5.0f, h62, mx, c);
    float g2 = hsl_channel(3.0f, h62, mx, c);
    float b2 = hsl_channel(1.0f, h62, mx, c);
    float Y = k_luma(r2, g2, b2);
    float k = 1.0f + ds * sat;
    float gain = k_exp2(dl * sat);
    r = active ? (Y + (r2 - Y) * k) * gain : r;
    g = active ? (Y + (g2 - Y) * k) * gain : g;
    b = active ? (Y + (b2 - Y) * k) * gain : b;
}
PIXEL_KERNEL(hsl_kernel, hsl_px)
