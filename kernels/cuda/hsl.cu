// HSL colour mixer: eight hue bands with smooth (C1) weights that sum to one, scaled by the
// pixel's saturation so greys are untouched. Hue from the HSV hexcone of linear RGB. A
// vibrance / saturation stage that follows the mixer runs in the same function (merged on the
// host by kernels/ops/hsl.py: its max, min and luminance follow from the mixer's).
// P: 8 segments between consecutive band centres (ascending from 0 deg, the last wrapping to
//    360) x (start deg, 1 / width, then for hue shift (deg), saturation delta and luminance
//    delta (stops): the start band's value and the next band's minus it);
//    P[64], P[65]: vibrance / 100 and saturation / 100 applied after (0, 0: none).
#include "common.cuh"

#define HSL_SEGMENTS 8
#define HSL_SEGMENT_FLOATS 8

__device__ float hsl_channel(float n, float hue6, float v, float c) {
    float k = n + hue6;
    k = k >= 6.0f ? k - 6.0f : k;
    float t = k_clamp(k_min(k, 4.0f - k), 0.0f, 1.0f);
    return v - c * t;
}

// The pixel's hue (degrees, [0, 360]), its HSV saturation (-1 for greys and black, which the
// mixer leaves alone) and its segment: the last band centre at or below the hue (centres ascend
// from 0). Branch-free so the host loop vectorises.
__device__ void hsl_analyse(float r, float g, float b, const float* __restrict__ P, float& hue,
                            float& sat, int& seg) {
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
    hue = h6 * 60.0f;
    float s = k_clamp(c * k_rcp(active ? mx : 1.0f), 0.0f, 1.0f);
    sat = active ? s : -1.0f;
    int k = 0;
    K_UNROLL
    for (int i = 1; i < HSL_SEGMENTS; ++i) k += (int)(hue >= P[HSL_SEGMENT_FLOATS * i]);
    seg = k;
}

// The hue shift, saturation and luminance deltas at `hue` from its segment's row: only the two
// bands around the hue have weight, 1 - S(t) and S(t), t the position between their centres and
// S the smoothstep. A template so that the host can run it on vectors of pixels (hsl_chunk).
template <class F>
__device__ void hsl_deltas(F hue, F start, F inv, F h0, F h1, F s0, F s1, F l0, F l1, F& dh,
                           F& ds, F& dl) {
    F t = (hue - start) * inv;
    t = t < 1.0f ? t : 1.0f;
    F sm = t * t * (3.0f - 2.0f * t);
    dh = h0 + h1 * sm;
    ds = s0 + s1 * sm;
    dl = l0 + l1 * sm;
}

// Applies the deltas (hue rotated on the hexcone, chroma scaled around luminance, a gain in
// stops, each scaled by the saturation) and then vibrance / saturation Q[0], Q[1].
__device__ void hsl_apply(float& r, float& g, float& b, float hue, float sat, float dh, float ds,
                          float dl, const float* __restrict__ Q) {
    float mx = k_max(r, k_max(g, b));
    float mn = k_min(r, k_min(g, b));
    float c = mx - mn;
    int active = sat >= 0.0f;
    float s = k_max(sat, 0.0f);  // greys: no shift, k = 1, gain = 1 exactly
    float hue2 = hue + dh * s;
    hue2 = hue2 < 0.0f ? hue2 + 360.0f : (hue2 >= 360.0f ? hue2 - 360.0f : hue2);
    float h62 = hue2 * (1.0f / 60.0f);
    float r2 = active ? hsl_channel(5.0f, h62, mx, c) : r;
    float g2 = active ? hsl_channel(3.0f, h62, mx, c) : g;
    float b2 = active ? hsl_channel(1.0f, h62, mx, c) : b;
    float Y = k_luma(r2, g2, b2);
    float k = 1.0f + ds * s;  // in [0, 2]: the map keeps the channels' order
    float gain = k_exp2(dl * s);
    // The mixed pixel is gain * (Y + (x2 - Y) k): its luminance is gain * Y, its max and min are
    // those of x2 (mx and mx - c, the hexcone's) mapped alike, so the vibrance stage's HSV
    // saturation needs no max and min of its own.
    float top = Y + (mx - Y) * k;
    float so = k_clamp(c * k * k_rcp(k_max(top, 1e-30f)), 0.0f, 1.0f);
    so = gain * top > 1e-8f ? so : 0.0f;
    float kk = k * ((1.0f + Q[1]) * (1.0f + Q[0] * (1.0f - so)));
    // Greys with no vibrance / saturation to apply keep their exact values.
    int keep = (!active) & (Q[0] == 0.0f) & (Q[1] == 0.0f);
    r = keep ? r : gain * (Y + (r2 - Y) * kk);
    g = keep ? g : gain * (Y + (g2 - Y) * kk);
    b = keep ? b : gain * (Y + (b2 - Y) * kk);
}

__device__ void hsl_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    float hue, sat, dh, ds, dl;
    int seg;
    hsl_analyse(r, g, b, P, hue, sat, seg);
    const float* S = P + HSL_SEGMENT_FLOATS * seg;
    hsl_deltas(hue, S[0], S[1], S[2], S[3], S[4], S[5], S[6], S[7], dh, ds, dl);
    hsl_apply(r, g, b, hue, sat, dh, ds, dl, P + HSL_SEGMENTS * HSL_SEGMENT_FLOATS);
}
PIXEL_KERNEL(hsl_kernel, hsl_px)

#ifndef __CUDACC__
// Host: the segment's row is read with permutes of the 8 segments held in registers. Per-pixel
// code can only gather it (microcoded on AMD) or select through all eight rows (56 selects of
// 56 constants that do not fit in registers: ~40% of the mixer's time). Three loops over the
// chunk: analyse (SIMD), deltas (host vectors, one permute per row entry), apply (SIMD).
__device__ void hsl_chunk(float* __restrict R, float* __restrict G, float* __restrict B, long n,
                          float x0, float y, const float* __restrict P) {
    alignas(64) float hue[K_CHUNK], sat[K_CHUNK], dh[K_CHUNK], ds[K_CHUNK], dl[K_CHUNK];
    alignas(64) int seg[K_CHUNK];
#pragma omp simd
    for (long i = 0; i < n; ++i) hsl_analyse(R[i], G[i], B[i], P, hue[i], sat[i], seg[i]);
    const long nv = (n + K_VLEN - 1) / K_VLEN * K_VLEN;
    for (long i = n; i < nv; ++i) {  // the last vector's spare lanes: any valid segment
        hue[i] = 0.0f;
        seg[i] = 0;
    }
    k_vf row[HSL_SEGMENT_FLOATS];
    for (int q = 0; q < HSL_SEGMENT_FLOATS; ++q)
        row[q] = k_lane_table(P + q, HSL_SEGMENTS, HSL_SEGMENT_FLOATS);
    for (long i = 0; i < nv; i += K_VLEN) {
        k_vi s = k_load_vi(seg + i);
        k_vf d0, d1, d2;
        hsl_deltas(k_load_vf(hue + i), __builtin_shuffle(row[0], s), __builtin_shuffle(row[1], s),
                   __builtin_shuffle(row[2], s), __builtin_shuffle(row[3], s),
                   __builtin_shuffle(row[4], s), __builtin_shuffle(row[5], s),
                   __builtin_shuffle(row[6], s), __builtin_shuffle(row[7], s), d0, d1, d2);
        k_store_vf(dh + i, d0);
        k_store_vf(ds + i, d1);
        k_store_vf(dl + i, d2);
    }
    const float* Q = P + HSL_SEGMENTS * HSL_SEGMENT_FLOATS;
#pragma omp simd
    for (long i = 0; i < n; ++i) hsl_apply(R[i], G[i], B[i], hue[i], sat[i], dh[i], ds[i], dl[i], Q);
}
#endif
