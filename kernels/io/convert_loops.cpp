// kernels.io's 8/16-bit <-> working-space conversions, one multithreaded pass each.
// Built and cached by kernels/backends/cpu_build.py; loaded through kernels/io/native.py.
// `parallel` = 0 runs a loop on the calling thread alone: the strip-parallel JPEG encode and
// decode (kernels/io/jpeg_strips.py) already run one strip per thread, and an OpenMP team
// inside each would put 2 x cores threads on the cores.
//
// Both loops work on each row in chunks of CHUNK pixels, split into planar arrays that stay
// in L1, so that every step is a unit-stride loop GCC vectorises (docs/kernels.md): the
// deinterleave, the arithmetic with its 32-bit-index table gathers, the interleave. Run in one
// interleaved loop, the table lookups kept them scalar.
//
// Decode computes exactly what the NumPy code in kernels/io/convert.py computes, bit for bit:
// each product lin[v] * m is rounded on its own (no FMA contraction here) and the three are
// added in NumPy's order. Encode matches it except that the 3x3 product may be fused or
// differ in the last bit from BLAS, which moves a code value by at most one, rarely.
#include <cstdint>

namespace {

constexpr long CHUNK = 256;

// Encoded RGB -> linear Rec.2020: out_c = (lin[c0] * m[c][0] + lin[c1] * m[c][1]) + lin[c2] * m[c][2]
// (lin: `levels` floats, the transfer curve; m: row-major 3x3 to the working space).
template <typename T, bool SWAP>
__attribute__((optimize("fp-contract=off")))
void to_working_t(const T* __restrict src, long src_row, long h, long w,
                  const float* __restrict lin, const float* __restrict m,
                  float* __restrict dst, long dst_row, bool parallel) {
    const float m00 = m[0], m01 = m[1], m02 = m[2];
    const float m10 = m[3], m11 = m[4], m12 = m[5];
    const float m20 = m[6], m21 = m[7], m22 = m[8];
#pragma omp parallel for schedule(static) if (parallel)
    for (long y = 0; y < h; ++y) {
        int32_t c0[CHUNK], c1[CHUNK], c2[CHUNK];
        float o0[CHUNK], o1[CHUNK], o2[CHUNK];
        const T* s = src + y * src_row;
        float* d = dst + y * dst_row;
        for (long x0 = 0; x0 < w; x0 += CHUNK) {
            const long n = w - x0 < CHUNK ? w - x0 : CHUNK;
            const T* sc = s + 3 * x0;
            for (long i = 0; i < n; ++i) {
                c0[i] = sc[3 * i + (SWAP ? 2 : 0)];
                c1[i] = sc[3 * i + 1];
                c2[i] = sc[3 * i + (SWAP ? 0 : 2)];
            }
            for (long i = 0; i < n; ++i) {
                const float a = lin[c0[i]], b = lin[c1[i]], c = lin[c2[i]];
                const float a0 = a * m00, b0 = b * m01, e0 = c * m02;
                const float a1 = a * m10, b1 = b * m11, e1 = c * m12;
                const float a2 = a * m20, b2 = b * m21, e2 = c * m22;
                o0[i] = (a0 + b0) + e0;
                o1[i] = (a1 + b1) + e1;
                o2[i] = (a2 + b2) + e2;
            }
            float* dc = d + 3 * x0;
            for (long i = 0; i < n; ++i) {
                dc[3 * i + 0] = o0[i];
                dc[3 * i + 1] = o1[i];
                dc[3 * i + 2] = o2[i];
            }
        }
    }
}

inline int32_t index16(float v) {
    // clip to [0, 1] (NaN -> 0), then to the 65536-step table, rounding half up
    v = v > 0.0f ? v : 0.0f;
    v = v < 1.0f ? v : 1.0f;
    v = v * 65535.0f;
    v = v + 0.5f;
    return static_cast<int32_t>(v);
}

// Linear Rec.2020 -> encoded 8-bit, see working_to_u8 below.
template <bool SWAP>
void working_to_u8_t(const float* __restrict src, long src_row, long h, long w,
                     const float* __restrict m, const int32_t* __restrict lut,
                     const uint16_t* __restrict noise, long noise_rows, long y0,
                     uint8_t* __restrict dst, long dst_row, bool parallel) {
    const float m00 = m[0], m01 = m[1], m02 = m[2];
    const float m10 = m[3], m11 = m[4], m12 = m[5];
    const float m20 = m[6], m21 = m[7], m22 = m[8];
#pragma omp parallel for schedule(static) if (parallel)
    for (long y = 0; y < h; ++y) {
        float r[CHUNK], g[CHUNK], b[CHUNK];
        int32_t q[3 * CHUNK];
        const float* s = src + y * src_row;
        const uint16_t* nrow = noise + ((y0 + y) % noise_rows) * 3 * w;
        uint8_t* d = dst + y * dst_row;
        for (long x0 = 0; x0 < w; x0 += CHUNK) {
            const long n = w - x0 < CHUNK ? w - x0 : CHUNK;
            const float* sc = s + 3 * x0;
            for (long i = 0; i < n; ++i) {
                r[i] = sc[3 * i];
                g[i] = sc[3 * i + 1];
                b[i] = sc[3 * i + 2];
            }
            for (long i = 0; i < n; ++i) {
                const float o0 = r[i] * m00 + g[i] * m01 + b[i] * m02;
                const float o1 = r[i] * m10 + g[i] * m11 + b[i] * m12;
                const float o2 = r[i] * m20 + g[i] * m21 + b[i] * m22;
                q[3 * i + (SWAP ? 2 : 0)] = lut[index16(o0)];
                q[3 * i + 1] = lut[index16(o1)];
                q[3 * i + (SWAP ? 0 : 2)] = lut[index16(o2)];
            }
            // The noise is laid out per channel, the output per position: with SWAP the
            // noise of channel 0 goes to position 2.
            const uint16_t* nc = nrow + 3 * x0;
            uint8_t* dc = d + 3 * x0;
            for (long i = 0; i < n; ++i) {
                dc[3 * i + 0] = static_cast<uint8_t>((q[3 * i] + nc[3 * i + (SWAP ? 2 : 0)]) >> 8);
                dc[3 * i + 1] = static_cast<uint8_t>((q[3 * i + 1] + nc[3 * i + 1]) >> 8);
                dc[3 * i + 2] = static_cast<uint8_t>((q[3 * i + 2] + nc[3 * i + (SWAP ? 0 : 2)]) >> 8);
            }
        }
    }
}

}  // namespace

extern "C" {

void u8_to_working(const uint8_t* src, long src_row, long h, long w, const float* lin,
                   const float* m, int swap, float* dst, long dst_row, int parallel) {
    if (swap)
        to_working_t<uint8_t, true>(src, src_row, h, w, lin, m, dst, dst_row, parallel);
    else
        to_working_t<uint8_t, false>(src, src_row, h, w, lin, m, dst, dst_row, parallel);
}

void u16_to_working(const uint16_t* src, long src_row, long h, long w, const float* lin,
                    const float* m, int swap, float* dst, long dst_row, int parallel) {
    if (swap)
        to_working_t<uint16_t, true>(src, src_row, h, w, lin, m, dst, dst_row, parallel);
    else
        to_working_t<uint16_t, false>(src, src_row, h, w, lin, m, dst, dst_row, parallel);
}

// Linear Rec.2020 -> encoded 8-bit: 3x3 matrix m (row-major, out_c = sum_k m[c][k] in_k),
// clip, a 65536-entry table (int32 values) to 8.8 fixed point, plus the dither (noise_rows x
// w x 3, in 1/256 steps, row y uses noise row (y0 + y) % noise_rows), then the integer part.
void working_to_u8(const float* src, long src_row, long h, long w, const float* m,
                   const int32_t* lut, const uint16_t* noise, long noise_rows, long y0, int swap,
                   uint8_t* dst, long dst_row, int parallel) {
    if (swap)
        working_to_u8_t<true>(src, src_row, h, w, m, lut, noise, noise_rows, y0, dst, dst_row,
                              parallel);
    else
        working_to_u8_t<false>(src, src_row, h, w, m, lut, noise, noise_rows, y0, dst, dst_row,
                               parallel);
}

}  // extern "C"
