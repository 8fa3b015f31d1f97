// HSL colour mixer: eight hue bands with smooth (C1) weights that sum to one, scaled by the
// pixel's saturation so greys are untouched. Hue from the HSV hexcone of linear RGB, in
// sextants (h6 = hue / 60 deg, [0, 6]). A vibrance / saturation stage that follows the mixer
// runs in the same function (merged on the host by kernels/ops/hsl.py: its max, min and
// luminance follow from the mixer's).
// P: 12 rows, one per half sextant (30 deg; every band centre is a multiple of 30 deg), each the
//    segment between the band centres around it: (start, 1 / width, then for hue shift, the
//    saturation delta and the luminance delta (stops): the start band's value and the next
//    band's minus it), hue quantities in sextants;
//    P[96], P[97]: vibrance / 100 and saturation / 100 applied after (0, 0: none).
#include "common.cuh"

#define HSL_ROWS 12
#define HSL_ROW_FLOATS 8

// One channel of the hexcone at hue h6 in [0, 6): mx - c t, t = clamp(2 - |d|, 0, 1) with d the
// distance (wrapped to [-3, 3)) of h6 from the channel's own sextant offset. As a clamp of
// mx - 2c + c |d| to [mn, mx] (c >= 0): GCC turns the product of a clamp into compares and
// masked arithmetic, a clamp of a sum into one min and one max.
__device__ float hsl_channel(float d, float mx, float mn, float c) {
    return k_clamp(mx - 2.0f * c + c * k_abs(d), mn, mx);
}

// The pixel's hue h6, its HSV saturation (-1 for greys and black, which the mixer leaves
// alone) and its row: the half sextant the hue is in. Branch-free so the host loop vectorises.
// A pixel with (almost) no chroma gets any hue: rebuilt from it, it moves by at most its chroma.
__device__ void hsl_analyse(float r, float g, float b, float& h6, float& sat, int& row) {
    float mx = k_max(r, k_max(g, b));
    float mn = k_min(r, k_min(g, b));
    float c = mx - mn;
    int active = (mx > 1e-8f) & (c > 1e-7f * mx);
    // The hue of every pixel with chroma, active or not: hsl_apply rebuilds greys from it too.
    float cs = c > 1e-30f ? c : 1.0f;
    // One reciprocal each for the hue and the saturation (selects pick the sextant first).
    float num = (mx == r) ? g - b : ((mx == g) ? b - r : r - g);
    float base = (mx == r) ? 0.0f : ((mx == g) ? 2.0f : 4.0f);
    float h = num * k_rcp(cs) + base;
    h = h < 0.0f ? h + 6.0f : h;
    h6 = h;
    float s = k_clamp01(c * k_rcp(active ? mx : 1.0f));
    sat = active ? s : -1.0f;
    // h6 = 6 only by rounding: the last row. Integer bounds (NaN converts out of range on the
    // host): a float min against a literal compiles to a compare and a blend.
    int j = (int)(h * 2.0f);
    j = j < HSL_ROWS - 1 ? j : HSL_ROWS - 1;
    row = j > 0 ? j : 0;
}

// The hue shift, saturation and luminance deltas at h6 from its row: only the two bands around
// the hue have weight, 1 - S(t) and S(t), t the position between their centres and S the
// smoothstep. A template so that the host can run it on vectors of pixels (hsl_chunk).
template <class F>
__device__ void hsl_deltas(F h6, F start, F inv, F h0, F h1, F s0, F s1, F l0, F l1, F& dh,
                           F& ds, F& dl) {
    F t = (h6 - start) * inv;
    t = t < 1.0f ? t : 1.0f;
    F sm = t * t * (3.0f - 2.0f * t);
    dh = h0 + h1 * sm;
    ds = s0 + s1 * sm;
    dl = l0 + l1 * sm;
}

// Applies the deltas (hue rotated on the hexcone, chroma scaled around luminance, a gain in
// stops, each scaled by the saturation) and then vibrance / saturation Q[0], Q[1].
// ROTATE false: no hue shift anywhere (every dh = 0), so x2 is the pixel itself; VIBRANCE false:
// Q[0] = 0, so the vibrance weight (the result's HSV saturation) is not needed. The host picks
// them per chunk (hsl_chunk); the GPU runs the general form.
template <bool ROTATE, bool VIBRANCE>
__device__ void hsl_apply(float& r, float& g, float& b, float h6, float sat, float dh, float ds,
                          float dl, const float* __restrict__ Q) {
    float mx = k_max(r, k_max(g, b));
    float mn = k_min(r, k_min(g, b));
    float c = mx - mn;
    float s = k_max0(sat);  // greys: no shift, k = 1, gain = 1 exactly
    float r2 = r, g2 = g, b2 = b;
    if (ROTATE) {
        float h = h6 + dh * s;
        h -= 6.0f * floorf(h * (1.0f / 6.0f));  // into [0, 6): h is within a sextant of it
        // Offsets of red, green, blue (2 - n for n = 5, 3, 1), wrapped into [-3, 3).
        float dr = h - 3.0f;
        float dg = h + 1.0f;
        dg = dg >= 3.0f ? dg - 6.0f : dg;
        float db = h - 1.0f;
        db = db >= 3.0f ? db - 6.0f : db;
        // Greys too (their own hue, not shifted): within float rounding of the pixel, and a
        // select here would turn every clamp above into compares and blends.
        r2 = hsl_channel(dr, mx, mn, c);
        g2 = hsl_channel(dg, mx, mn, c);
        b2 = hsl_channel(db, mx, mn, c);
    }
    float Y = k_luma(r2, g2, b2);
    float k = 1.0f + ds * s;  // in [0, 2]: the map keeps the channels' order
    float gain = k_exp2_small(dl * s);  // |dl| <= 1 stop
    float kk = k * (1.0f + Q[1]);
    if (VIBRANCE) {
        // The mixed pixel is gain * (Y + (x2 - Y) k): its luminance is gain * Y, its max and
        // min are those of x2 (mx and mx - c, the hexcone's) mapped alike, so the vibrance
        // stage's HSV saturation needs no max and min of its own.
        float top = Y + (mx - Y) * k;
        float so = k_clamp01(c * k * k_rcp(top));  // top <= 0: whatever, not selected below
        so = gain * top > 1e-8f ? so : 0.0f;
        kk *= 1.0f + Q[0] * (1.0f - so);
    }
    // Greys with no vibrance / saturation to apply keep their exact values.
    int keep = (sat < 0.0f) & (Q[0] == 0.0f) & (Q[1] == 0.0f);
    r = keep ? r : gain * (Y + (r2 - Y) * kk);
    g = keep ? g : gain * (Y + (g2 - Y) * kk);
    b = keep ? b : gain * (Y + (b2 - Y) * kk);
}

__device__ void hsl_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    float h6, sat, dh, ds, dl;
    int row;
    hsl_analyse(r, g, b, h6, sat, row);
    const float* S = P + HSL_ROW_FLOATS * row;
    hsl_deltas(h6, S[0], S[1], S[2], S[3], S[4], S[5], S[6], S[7], dh, ds, dl);
    hsl_apply<true, true>(r, g, b, h6, sat, dh, ds, dl, P + HSL_ROWS * HSL_ROW_FLOATS);
}
PIXEL_KERNEL(hsl_kernel, hsl_px)

#ifndef __CUDACC__
template <bool ROTATE, bool VIBRANCE>
__device__ void hsl_apply_loop(float* __restrict R, float* __restrict G, float* __restrict B,
                               long n, const float* __restrict h6, const float* __restrict sat,
                               const float* __restrict dh, const float* __restrict ds,
                               const float* __restrict dl, const float* __restrict Q) {
#pragma omp simd
    for (long i = 0; i < n; ++i)
        hsl_apply<ROTATE, VIBRANCE>(R[i], G[i], B[i], h6[i], sat[i], dh[i], ds[i], dl[i], Q);
}

// Host: the row is read with permutes of the 12 rows held in registers. Per-pixel code can only
// gather it (microcoded on AMD Zen) or select through every row (56 selects of 56 constants that
// did not fit in registers: ~40% of the mixer's time). Three loops over the chunk: analyse
// (SIMD), deltas (host vectors, one permute per row entry), apply (SIMD; without the hexcone
// when no pixel of the chunk has a hue shift, without the vibrance weight when there is none).
__device__ void hsl_chunk(float* __restrict R, float* __restrict G, float* __restrict B, long n,
                          float x0, float y, const float* __restrict P) {
    alignas(64) float h6[K_CHUNK], sat[K_CHUNK], dh[K_CHUNK], ds[K_CHUNK], dl[K_CHUNK];
    alignas(64) int row[K_CHUNK];
#pragma omp simd
    for (long i = 0; i < n; ++i) hsl_analyse(R[i], G[i], B[i], h6[i], sat[i], row[i]);
    const long nv = (n + K_VLEN - 1) / K_VLEN * K_VLEN;
    for (long i = n; i < nv; ++i) {  // the last vector's spare lanes: any valid row
        h6[i] = 0.0f;
        row[i] = 0;
    }
    k_table16 col[HSL_ROW_FLOATS];
    for (int q = 0; q < HSL_ROW_FLOATS; ++q) col[q] = k_make_table16(P + q, HSL_ROWS, HSL_ROW_FLOATS);
    k_vi turned = {};  // lanes with a hue shift (spare lanes excluded)
    k_vi lane;
    for (int j = 0; j < K_VLEN; ++j) lane[j] = j;
    for (long i = 0; i < nv; i += K_VLEN) {
        k_vi j = k_load_vi(row + i);
        k_vf d0, d1, d2;
        hsl_deltas(k_load_vf(h6 + i), k_lookup16(col[0], j), k_lookup16(col[1], j),
                   k_lookup16(col[2], j), k_lookup16(col[3], j), k_lookup16(col[4], j),
                   k_lookup16(col[5], j), k_lookup16(col[6], j), k_lookup16(col[7], j), d0, d1, d2);
        turned |= (d0 != 0.0f) & (lane + (int)i < (int)n);
        k_store_vf(dh + i, d0);
        k_store_vf(ds + i, d1);
        k_store_vf(dl + i, d2);
    }
    bool rotate = false;
    for (int j = 0; j < K_VLEN; ++j) rotate |= turned[j] != 0;
    const float* Q = P + HSL_ROWS * HSL_ROW_FLOATS;
    if (rotate && Q[0] != 0.0f)
        hsl_apply_loop<true, true>(R, G, B, n, h6, sat, dh, ds, dl, Q);
    else if (rotate)
        hsl_apply_loop<true, false>(R, G, B, n, h6, sat, dh, ds, dl, Q);
    else if (Q[0] != 0.0f)
        hsl_apply_loop<false, true>(R, G, B, n, h6, sat, dh, ds, dl, Q);
    else
        hsl_apply_loop<false, false>(R, G, B, n, h6, sat, dh, ds, dl, Q);
}
#endif
