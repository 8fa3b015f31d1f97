// Host only: the 8-bit ends of a job on one chunk of a row, shared by kernels.io's conversion
// loops (kernels/io/convert_loops.cpp) and the fused 8-bit pass (kernels/backends/fused.py), so
// that a JPEG -> JPEG export developed in one pass writes exactly what decode -> develop ->
// encode through memory writes.
//
// In: encoded code values -> a transfer table (`lin`, one float per code value) -> a 3x3 matrix
// to the working space. Out: a 3x3 matrix from it, clip to [0, 1], a table of `size` entries in
// 8.8 fixed point indexed by round(v * (size - 1)), plus a dither in 1/256 steps, integer part.
// A plain transfer curve is the same with identity matrices (exact: x * 1 + y * 0 + z * 0 = x),
// a table shifted left by 8 and a dither of 128 (half a step: round to nearest).
//
// Each step is a unit-stride loop over planar chunk arrays in L1, which GCC vectorises (the
// table reads become 32-bit-index gathers); run as one interleaved loop they stayed scalar.
#pragma once
#include <stdint.h>

// Code values (T: uint8_t or uint16_t, 3 interleaved, SWAP: BGR) -> planar linear working-space
// R, G, B: out_c = (lin[c0] m[c][0] + lin[c1] m[c][1]) + lin[c2] m[c][2], each product rounded
// on its own (no FMA contraction), which is NumPy's arithmetic (kernels/io/convert.py) bit for
// bit. Out of line: the callers' own loops may contract. idx: 3 n ints of scratch.
template <typename T, bool SWAP>
__attribute__((optimize("fp-contract=off"), noinline)) void k_codes_to_working(
    const T* __restrict s, long n, const float* __restrict lin, const float* __restrict m,
    int32_t* __restrict idx, float* __restrict R, float* __restrict G, float* __restrict B) {
    const float m00 = m[0], m01 = m[1], m02 = m[2];
    const float m10 = m[3], m11 = m[4], m12 = m[5];
    const float m20 = m[6], m21 = m[7], m22 = m[8];
    int32_t* __restrict c0 = idx;
    int32_t* __restrict c1 = idx + n;
    int32_t* __restrict c2 = idx + 2 * n;
    for (long i = 0; i < n; ++i) {
        c0[i] = s[3 * i + (SWAP ? 2 : 0)];
        c1[i] = s[3 * i + 1];
        c2[i] = s[3 * i + (SWAP ? 0 : 2)];
    }
    for (long i = 0; i < n; ++i) {
        const float a = lin[c0[i]], b = lin[c1[i]], c = lin[c2[i]];
        const float a0 = a * m00, b0 = b * m01, e0 = c * m02;
        const float a1 = a * m10, b1 = b * m11, e1 = c * m12;
        const float a2 = a * m20, b2 = b * m21, e2 = c * m22;
        R[i] = (a0 + b0) + e0;
        G[i] = (a1 + b1) + e1;
        B[i] = (a2 + b2) + e2;
    }
}

// The table index of v: clip to [0, 1] (NaN -> 0), times size - 1, rounding half up.
static inline int32_t k_end_index(float v, float top) {
    v = v > 0.0f ? v : 0.0f;
    v = v < 1.0f ? v : 1.0f;
    v = v * top;
    v = v + 0.5f;
    return static_cast<int32_t>(v);
}

// Planar linear working-space R, G, B -> 3 interleaved 8-bit codes (SWAP: BGR). m: row-major
// 3x3 from the working space; lut: `size` int32 codes in 8.8 fixed point; noise: this chunk's
// dither, 3 interleaved per pixel in channel order (with SWAP the noise of channel 0 goes to
// position 2). q: 3 n ints of scratch.
template <bool SWAP>
static inline void k_working_to_codes(const float* __restrict R, const float* __restrict G,
                                      const float* __restrict B, long n,
                                      const float* __restrict m, const int32_t* __restrict lut,
                                      long size, const uint16_t* __restrict noise,
                                      int32_t* __restrict q, uint8_t* __restrict d) {
    const float m00 = m[0], m01 = m[1], m02 = m[2];
    const float m10 = m[3], m11 = m[4], m12 = m[5];
    const float m20 = m[6], m21 = m[7], m22 = m[8];
    const float top = static_cast<float>(size - 1);
    for (long i = 0; i < n; ++i) {
        const float o0 = R[i] * m00 + G[i] * m01 + B[i] * m02;
        const float o1 = R[i] * m10 + G[i] * m11 + B[i] * m12;
        const float o2 = R[i] * m20 + G[i] * m21 + B[i] * m22;
        q[3 * i + (SWAP ? 2 : 0)] = lut[k_end_index(o0, top)];
        q[3 * i + 1] = lut[k_end_index(o1, top)];
        q[3 * i + (SWAP ? 0 : 2)] = lut[k_end_index(o2, top)];
    }
    for (long i = 0; i < n; ++i) {
        d[3 * i + 0] = static_cast<uint8_t>((q[3 * i] + noise[3 * i + (SWAP ? 2 : 0)]) >> 8);
        d[3 * i + 1] = static_cast<uint8_t>((q[3 * i + 1] + noise[3 * i + 1]) >> 8);
        d[3 * i + 2] = static_cast<uint8_t>((q[3 * i + 2] + noise[3 * i + (SWAP ? 0 : 2)]) >> 8);
    }
}
