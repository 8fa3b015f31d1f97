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
#include <string.h>

#if defined(__AVX512VBMI__) && defined(__AVX512BW__)
#include <immintrin.h>
#define K_VBMI_LOOKUP 1
#else
#define K_VBMI_LOOKUP 0
#endif

// The decode end's transfer table (one float per code value) in the form its lookup reads.
// Generic form: the table itself, read with gathers. 8-bit codes on a host with AVX-512 VBMI:
// the table as four byte planes of 256 bytes (byte p of every entry), each held in four
// registers, so a lookup of 64 codes is two byte permutes and a blend per plane; a gather
// fetches one element per cycle or so (microcoded on AMD Zen), and the decode end spent ~60%
// of its time in three of them per pixel. Also the deinterleave indices of a 64-pixel block.
// Build once per thread (a few hundred operations), not per chunk.
template <typename T>
struct k_codes_table {
    const float* lin;
    explicit k_codes_table(const float* table) : lin(table) {}
};

#if K_VBMI_LOOKUP
template <>
struct k_codes_table<uint8_t> {
    const float* lin;
    __m512i plane[4][4];  // [byte of the float][64 entries]
    // Channel k of a block of 64 pixels (192 interleaved bytes in three registers a, b, c):
    // lane t gets byte pos = 3 pixel(t) + k, from a|b through ab[k] (pos < 128) then from c
    // through from_c[k] where c_lanes[k] (pos >= 128). pixel(t) orders the lanes so that the
    // byte -> float unpacks (which work within 128-bit lanes) leave pixels in order:
    // t = 16 L + 4 q + m holds pixel 16 q + 4 L + m.
    __m512i ab[3], from_c[3];
    __mmask64 c_lanes[3];

    explicit k_codes_table(const float* table) : lin(table) {
        alignas(64) uint8_t bytes[4][256];
        for (int i = 0; i < 256; ++i) {
            uint32_t u;
            memcpy(&u, table + i, sizeof u);
            for (int p = 0; p < 4; ++p) bytes[p][i] = static_cast<uint8_t>(u >> (8 * p));
        }
        for (int p = 0; p < 4; ++p)
            for (int q = 0; q < 4; ++q) plane[p][q] = _mm512_load_si512(bytes[p] + 64 * q);
        for (int k = 0; k < 3; ++k) {
            alignas(64) uint8_t lo[64], hi[64];
            uint64_t mask = 0;
            for (int t = 0; t < 64; ++t) {
                const int pixel = 16 * ((t >> 2) & 3) + 4 * (t >> 4) + (t & 3);
                const int pos = 3 * pixel + k;
                lo[t] = static_cast<uint8_t>(pos & 127);
                hi[t] = static_cast<uint8_t>((pos - 128) & 63);
                if (pos >= 128) mask |= uint64_t{1} << t;
            }
            ab[k] = _mm512_load_si512(lo);
            from_c[k] = _mm512_load_si512(hi);
            c_lanes[k] = mask;
        }
    }

    // The table's floats for channel k of the block (a, b, c): 64 values as 4 x 16, in pixel
    // order.
    void lookup(__m512i a, __m512i b, __m512i c, int k, __m512 out[4]) const {
        __m512i x = _mm512_permutex2var_epi8(a, ab[k], b);
        x = _mm512_mask_permutexvar_epi8(x, c_lanes[k], from_c[k], c);
        const __mmask64 upper = _mm512_movepi8_mask(x);  // code >= 128
        __m512i v[4];
        for (int p = 0; p < 4; ++p) {
            const __m512i lo = _mm512_permutex2var_epi8(plane[p][0], x, plane[p][1]);
            const __m512i hi = _mm512_permutex2var_epi8(plane[p][2], x, plane[p][3]);
            v[p] = _mm512_mask_blend_epi8(upper, lo, hi);
        }
        const __m512i w_lo = _mm512_unpacklo_epi8(v[0], v[1]), w_hi = _mm512_unpackhi_epi8(v[0], v[1]);
        const __m512i u_lo = _mm512_unpacklo_epi8(v[2], v[3]), u_hi = _mm512_unpackhi_epi8(v[2], v[3]);
        out[0] = _mm512_castsi512_ps(_mm512_unpacklo_epi16(w_lo, u_lo));
        out[1] = _mm512_castsi512_ps(_mm512_unpackhi_epi16(w_lo, u_lo));
        out[2] = _mm512_castsi512_ps(_mm512_unpacklo_epi16(w_hi, u_hi));
        out[3] = _mm512_castsi512_ps(_mm512_unpackhi_epi16(w_hi, u_hi));
    }
};
#endif

// Code values (T: uint8_t or uint16_t, 3 interleaved, SWAP: BGR) -> planar linear working-space
// R, G, B: out_c = (lin[c0] m[c][0] + lin[c1] m[c][1]) + lin[c2] m[c][2], each product rounded
// on its own (no FMA contraction), which is NumPy's arithmetic (kernels/io/convert.py) bit for
// bit. Out of line: the callers' own loops may contract. idx: 3 n ints of scratch.
template <typename T, bool SWAP>
__attribute__((optimize("fp-contract=off"), noinline)) void k_codes_to_working(
    const T* __restrict s, long n, const k_codes_table<T>& table, const float* __restrict m,
    int32_t* __restrict idx, float* __restrict R, float* __restrict G, float* __restrict B) {
    const float m00 = m[0], m01 = m[1], m02 = m[2];
    const float m10 = m[3], m11 = m[4], m12 = m[5];
    const float m20 = m[6], m21 = m[7], m22 = m[8];
    // The three channels' table values, planar (the scratch reused as floats).
    float* __restrict l0 = reinterpret_cast<float*>(idx);
    float* __restrict l1 = l0 + n;
    float* __restrict l2 = l0 + 2 * n;
    constexpr int first = SWAP ? 2 : 0, last = SWAP ? 0 : 2;
#if K_VBMI_LOOKUP
    if constexpr (sizeof(T) == 1) {
        float* planes[3] = {l0, l1, l2};
        for (long i = 0; i < n; i += 64) {
            const long rest = n - i < 64 ? n - i : 64;
            const uint8_t* p = reinterpret_cast<const uint8_t*>(s) + 3 * i;
            __m512i a, b, c;
            if (rest == 64) {
                a = _mm512_loadu_si512(p);
                b = _mm512_loadu_si512(p + 64);
                c = _mm512_loadu_si512(p + 128);
            } else {  // masked loads: no byte past the chunk is read
                const long bytes = 3 * rest;
                auto upto = [](long k) {
                    return k >= 64 ? ~__mmask64{0} : k <= 0 ? __mmask64{0} : (__mmask64{1} << k) - 1;
                };
                a = _mm512_maskz_loadu_epi8(upto(bytes), p);
                b = _mm512_maskz_loadu_epi8(upto(bytes - 64), p + 64);
                c = _mm512_maskz_loadu_epi8(upto(bytes - 128), p + 128);
            }
            for (int k = 0; k < 3; ++k) {
                __m512 v[4];
                table.lookup(a, b, c, k, v);
                float* d = planes[k == 0 ? first : k == 2 ? last : 1] + i;
                for (int q = 0; q < 4; ++q) {
                    const long left = rest - 16 * q;
                    if (left >= 16)
                        _mm512_storeu_ps(d + 16 * q, v[q]);
                    else if (left > 0)
                        _mm512_mask_storeu_ps(d + 16 * q, static_cast<__mmask16>((1u << left) - 1), v[q]);
                }
            }
        }
    } else
#endif
    {
        const float* __restrict lin = table.lin;
        for (long i = 0; i < n; ++i) {
            l0[i] = lin[s[3 * i + first]];
            l1[i] = lin[s[3 * i + 1]];
            l2[i] = lin[s[3 * i + last]];
        }
    }
    for (long i = 0; i < n; ++i) {
        const float a = l0[i], b = l1[i], c = l2[i];
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
