// HSL colour mixer: eight hue bands with smooth (C1) weights that sum to one, scaled by the
// pixel's saturation so greys are untouched. Hue from the HSV hexcone of linear RGB.
// P: 8 segments between consecutive band centres (ascending from 0 deg, the last wrapping to
//    360) x (start deg, 1 / width, then for hue shift (deg), saturation delta and luminance
//    delta (stops): the start band's value and the next band's minus it).
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
    // One reciprocal each for the hue and the saturation (selects pick the sextant first).
    float num = (mx == r) ? g - b : ((mx == g) ? b - r : r - g);
    float base = (mx == r) ? 0.0f : ((mx == g) ? 2.0f : 4.0f);
    float h6 = num * k_rcp(cs) + base;
    h6 = h6 < 0.0f ? h6 + 6.0f : h6;
    float hue = h6 * 60.0f;
    float sat = k_clamp(c * k_rcp(active ? mx : 1.0f), 0.0f, 1.0f);
    // Only the two bands around the hue have weight: 1 - S(t) and S(t), t the position between
    // their centres and S the smoothstep. Find the segment (the last centre <= hue; centres
    // ascend from 0) with selects, then interpolate: no per-band loop over all eight.
    // k_pick, not `m ? S[k] : v`: GCC turns a load under a select into a masked load, which it
    // does not vectorise.
    float c0 = P[0], inv = P[1], h0 = P[2], h1 = P[3], s0 = P[4], s1 = P[5], l0 = P[6], l1 = P[7];
    K_UNROLL
    for (int i = 1; i < 8; ++i) {
        const float* S = P + 8 * i;
        int m = -(int)(hue >= S[0]);
        c0 = k_pick(m, S[0], c0); inv = k_pick(m, S[1], inv);
        h0 = k_pick(m, S[2], h0); h1 = k_pick(m, S[3], h1);
        s0 = k_pick(m, S[4], s0); s1 = k_pick(m, S[5], s1);
        l0 = k_pick(m, S[6], l0); l1 = k_pick(m, S[7], l1);
    }
    float t = k_min((hue - c0) * inv, 1.0f);
    float sm = t * t * (3.0f - 2.0f * t);
    float dh = h0 + h1 * sm, ds = s0 + s1 * sm, dl = l0 + l1 * sm;
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
