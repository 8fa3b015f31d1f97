// kernels.io's 8/16-bit <-> working-space conversions, one multithreaded pass each.
// Built and cached by kernels/backends/cpu_build.py; loaded through kernels/io/native.py.
// Each loop computes exactly what the NumPy code in kernels/io/convert.py computes, in the
// same order of float operations, so the two agree bit for bit (the 3x3 product may differ
// in the last bit from BLAS, which moves a code value by at most one).
#include <cstdint>

namespace {

// Encoded RGB -> linear Rec.2020: out = T0[c0] + T1[c1] + T2[c2], each Tk `levels` x 3 floats
// (the working-space contribution of one channel's code value: transfer curve and matrix).
template <typename T>
void to_working_t(const T* __restrict src, long src_row, long h, long w,
                  const float* __restrict tables, long levels, int swap,
                  float* __restrict dst, long dst_row) {
    const float* t0 = tables;
    const float* t1 = tables + 3 * levels;
    const float* t2 = tables + 6 * levels;
    const int ia = swap ? 2 : 0, ic = swap ? 0 : 2;
#pragma omp parallel for schedule(static)
    for (long y = 0; y < h; ++y) {
        const T* s = src + y * src_row;
        float* d = dst + y * dst_row;
        for (long x = 0; x < w; ++x) {
            const float* p = t0 + 3 * static_cast<long>(s[3 * x + ia]);
            const float* q = t1 + 3 * static_cast<long>(s[3 * x + 1]);
            const float* r = t2 + 3 * static_cast<long>(s[3 * x + ic]);
            d[3 * x + 0] = (p[0] + q[0]) + r[0];
            d[3 * x + 1] = (p[1] + q[1]) + r[1];
            d[3 * x + 2] = (p[2] + q[2]) + r[2];
        }
    }
}

inline uint16_t index16(float v) {
    // clip to [0, 1] (NaN -> 0), then to the 65536-step table, rounding half up
    v = v > 0.0f ? v : 0.0f;
    v = v < 1.0f ? v : 1.0f;
    v = v * 65535.0f;
    v = v + 0.5f;
    return static_cast<uint16_t>(v);
}

}  // namespace

extern "C" {

void u8_to_working(const uint8_t* src, long src_row, long h, long w, const float* tables,
                   int swap, float* dst, long dst_row) {
    to_working_t(src, src_row, h, w, tables, 256, swap, dst, dst_row);
}

void u16_to_working(const uint16_t* src, long src_row, long h, long w, const float* tables,
                    int swap, float* dst, long dst_row) {
    to_working_t(src, src_row, h, w, tables, 65536, swap, dst, dst_row);
}

// Linear Rec.2020 -> encoded 8-bit: 3x3 matrix m (row-major, out_c = sum_k m[c][k] in_k),
// clip, a 65536-entry table to 8.8 fixed point, plus the dither (noise_rows x w x 3, in
// 1/256 steps, row y uses noise row (y0 + y) % noise_rows), then the integer part.
void working_to_u8(const float* __restrict src, long src_row, long h, long w,
                   const float* __restrict m, const uint16_t* __restrict lut,
                   const uint16_t* __restrict noise, long noise_rows, long y0, int swap,
                   uint8_t* __restrict dst, long dst_row) {
    const float m00 = m[0], m01 = m[1], m02 = m[2];
    const float m10 = m[3], m11 = m[4], m12 = m[5];
    const float m20 = m[6], m21 = m[7], m22 = m[8];
    const int ia = swap ? 2 : 0, ic = swap ? 0 : 2;
#pragma omp parallel for schedule(static)
    for (long y = 0; y < h; ++y) {
        const float* s = src + y * src_row;
        const uint16_t* n = noise + ((y0 + y) % noise_rows) * 3 * w;
        uint8_t* d = dst + y * dst_row;
        for (long x = 0; x < w; ++x) {
            const float r = s[3 * x], g = s[3 * x + 1], b = s[3 * x + 2];
            const float o0 = r * m00 + g * m01 + b * m02;
            const float o1 = r * m10 + g * m11 + b * m12;
            const float o2 = r * m20 + g * m21 + b * m22;
            d[3 * x + ia] = static_cast<uint8_t>((lut[index16(o0)] + n[3 * x]) >> 8);
            d[3 * x + 1] = static_cast<uint8_t>((lut[index16(o1)] + n[3 * x + 1]) >> 8);
            d[3 * x + ic] = static_cast<uint8_t>((lut[index16(o2)] + n[3 * x + 2]) >> 8);
        }
    }
}

}  // extern "C"
