// kernels.io's 8/16-bit <-> working-space conversions, one multithreaded pass each.
// Built and cached by kernels/backends/cpu_build.py; loaded through kernels/io/native.py.
// `parallel` = 0 runs a loop on the calling thread alone: the strip-parallel JPEG encode and
// decode (kernels/io/jpeg_strips.py) already run one strip per thread, and an OpenMP team
// inside each would put 2 x cores threads on the cores.
//
// Both loops work on each row in chunks of CHUNK pixels, through the chunk ends shared with the
// fused 8-bit pass (kernels/cuda/u8_ends_cpu.h: planar arrays in L1, unit-stride loops that GCC
// vectorises), here with the float image interleaved on the other side.
//
// Decode computes exactly what the NumPy code in kernels/io/convert.py computes, bit for bit:
// each product lin[v] * m is rounded on its own (no FMA contraction here) and the three are
// added in NumPy's order. Encode matches it except that the 3x3 product may be fused or
// differ in the last bit from BLAS, which moves a code value by at most one, rarely.
#include <cstdint>

#include "u8_ends_cpu.h"

namespace {

constexpr long CHUNK = 256;

// Encoded RGB -> linear Rec.2020 (k_codes_to_working; m: row-major 3x3 to the working space).
template <typename T, bool SWAP>
void to_working_t(const T* __restrict src, long src_row, long h, long w,
                  const float* __restrict lin, const float* __restrict m,
                  float* __restrict dst, long dst_row, bool parallel) {
#pragma omp parallel if (parallel)
    {
        const k_codes_table<T> table(lin);
#pragma omp for schedule(static)
        for (long y = 0; y < h; ++y) {
            int32_t idx[3 * CHUNK];
            float o0[CHUNK], o1[CHUNK], o2[CHUNK];
            const T* s = src + y * src_row;
            float* d = dst + y * dst_row;
            for (long x0 = 0; x0 < w; x0 += CHUNK) {
                const long n = w - x0 < CHUNK ? w - x0 : CHUNK;
                k_codes_to_working<T, SWAP>(s + 3 * x0, n, table, m, idx, o0, o1, o2);
                float* dc = d + 3 * x0;
                for (long i = 0; i < n; ++i) {
                    dc[3 * i + 0] = o0[i];
                    dc[3 * i + 1] = o1[i];
                    dc[3 * i + 2] = o2[i];
                }
            }
        }
    }
}

// Linear Rec.2020 -> encoded 8-bit, see working_to_u8 below.
template <bool SWAP>
void working_to_u8_t(const float* __restrict src, long src_row, long h, long w,
                     const float* __restrict m, const int32_t* __restrict lut,
                     const uint16_t* __restrict noise, long noise_rows, long y0,
                     uint8_t* __restrict dst, long dst_row, bool parallel) {
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
            k_working_to_codes<SWAP>(r, g, b, n, m, lut, 65536, nrow + 3 * x0, q, d + 3 * x0);
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
