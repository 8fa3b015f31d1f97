// Host loops over the neighbourhood kernels of kernels/cuda: OpenMP threads over rows, SIMD
// over the pixels of a row. Each loop body calls the same __device__ gather the GPU runs.
#include "common.cuh"
#include "convolve.cu"
#include "min_filter.cu"
#include "bilateral.cu"
#include "warp.cu"
#include "resize.cu"

extern "C" {

// Convolution loops. On the host the interior runs taps-outer, pixels-inner: each tap is one
// contiguous, vectorised multiply-add over the row, summed in the same order as convolve_px.
// Rows and pixels within r of a border use the device gather (convolve_px) itself.
static inline void convolve_row_interior(const float* __restrict s, float* __restrict d, long lo,
                                         long hi, long step, const float* __restrict k, int r) {
#pragma omp simd
    for (long e = lo; e < hi; ++e) d[e] = 0.0f;
    for (int j = 0; j <= 2 * r; ++j) {
        const float kj = k[j];
        const float* __restrict sp = s + (long)(j - r) * step;
#pragma omp simd
        for (long e = lo; e < hi; ++e) d[e] += kj * sp[e];
    }
}

// Vertical pass: every element of row y gathers along its column.
void convolve_v(const float* __restrict src, float* __restrict dst, long h, long rowlen,
                const float* __restrict k, int r) {
#pragma omp parallel for schedule(static)
    for (long y = 0; y < h; ++y) {
        float* d = dst + y * rowlen;
        if (y - r >= 0 && y + r < h) {
            convolve_row_interior(src + y * rowlen, d, 0, rowlen, rowlen, k, r);
        } else {
            for (long e = 0; e < rowlen; ++e) d[e] = convolve_px(src + e, (int)h, rowlen, (int)y, k, r);
        }
    }
}

// Horizontal pass over interleaved pixels with c channels.
void convolve_h(const float* __restrict src, float* __restrict dst, long h, long w, int c,
                const float* __restrict k, int r) {
#pragma omp parallel for schedule(static)
    for (long y = 0; y < h; ++y) {
        const float* s = src + y * w * c;
        float* d = dst + y * w * c;
        long lo = r < w ? r : w, hi = w - r > lo ? w - r : lo;
        convolve_row_interior(s, d, lo * c, hi * c, c, k, r);
        for (int ch = 0; ch < c; ++ch) {
            for (long x = 0; x < lo; ++x) d[x * c + ch] = convolve_px(s + ch, (int)w, c, (int)x, k, r);
            for (long x = hi; x < w; ++x) d[x * c + ch] = convolve_px(s + ch, (int)w, c, (int)x, k, r);
        }
    }
}

void min_filter(const float* __restrict src, float* __restrict tmp, float* __restrict dst,
                long h, long w, int r) {
#pragma omp parallel for schedule(static)
    for (long y = 0; y < h; ++y)
        for (long x = 0; x < w; ++x) tmp[y * w + x] = min_filter_px(src + y * w, (int)w, 1, (int)x, r);
#pragma omp parallel for schedule(static)
    for (long y = 0; y < h; ++y)
#pragma omp simd
        for (long x = 0; x < w; ++x) dst[y * w + x] = min_filter_px(tmp + x, (int)h, w, (int)y, r);
}

}  // extern "C"

// Bilateral, host loop. Interior pixels run taps-outer over a chunk of a row: for each of the
// (2r+1)^2 taps one unit-stride SIMD loop over the chunk adds that tap's terms to per-pixel
// accumulators in L1 (a per-pixel gather of 49 clamped taps over interleaved RGB does not
// vectorise). Each pixel still sums its taps in bilateral_r_px's order (dy, then dx) with the
// same weights, from a luminance plane computed once with the same k_luma. The r columns at
// each edge use the gather itself. A channel whose range sigma is 0 skips its weights.
#define K_BL_CHUNK 256
template <bool LUMA, bool CHROMA>
static void bilateral_rows(const float* __restrict src, const float* __restrict Y,
                           float* __restrict dst, long h, long w, const float* __restrict P, int r) {
    const float kl = P[2], kc = P[3], ks = P[1];
#pragma omp parallel
    {
        alignas(64) float al[K_BL_CHUNK], wl[K_BL_CHUNK], ar[K_BL_CHUNK], ag[K_BL_CHUNK],
            ab[K_BL_CHUNK], wc[K_BL_CHUNK];
#pragma omp for schedule(static)
        for (long y = 0; y < h; ++y) {
            const float* __restrict Yc = Y + y * w;
            for (long c0 = r; c0 < w - r; c0 += K_BL_CHUNK) {
                const long n = (w - r - c0) < K_BL_CHUNK ? (w - r - c0) : K_BL_CHUNK;
#pragma omp simd
                for (long i = 0; i < n; ++i) {
                    al[i] = 0.0f; wl[i] = 0.0f; ar[i] = 0.0f; ag[i] = 0.0f; ab[i] = 0.0f; wc[i] = 0.0f;
                }
                for (int dy = -r; dy <= r; ++dy) {
                    long yy = y + dy; yy = yy < 0 ? 0 : (yy >= h ? h - 1 : yy);
                    for (int dx = -r; dx <= r; ++dx) {
                        const float s = -(float)(dx * dx + dy * dy) * ks;
                        const float* __restrict Yn = Y + yy * w + c0 + dx;
                        const float* __restrict q = src + (yy * w + c0 + dx) * 3;
#pragma omp simd
                        for (long i = 0; i < n; ++i) {
                            const float yn = Yn[i];
                            const float d = yn - Yc[c0 + i];
                            const float d2 = d * d;
                            if (LUMA) {
                                const float wgt = bilateral_weight(s, d2, kl);
                                al[i] += wgt * yn; wl[i] += wgt;
                            }
                            if (CHROMA) {
                                const float wgt = bilateral_weight(s, d2, kc);
                                ar[i] += wgt * (q[3 * i] - yn); ag[i] += wgt * (q[3 * i + 1] - yn);
                                ab[i] += wgt * (q[3 * i + 2] - yn); wc[i] += wgt;
                            }
                        }
                    }
                }
                const float* __restrict c = src + (y * w + c0) * 3;
                float* __restrict o = dst + (y * w + c0) * 3;
#pragma omp simd
                for (long i = 0; i < n; ++i) {
                    const float y0 = Yc[c0 + i];
                    const float ly = LUMA ? al[i] / wl[i] : y0;
                    o[3 * i] = ly + (CHROMA ? ar[i] / wc[i] : c[3 * i] - y0);
                    o[3 * i + 1] = ly + (CHROMA ? ag[i] / wc[i] : c[3 * i + 1] - y0);
                    o[3 * i + 2] = ly + (CHROMA ? ab[i] / wc[i] : c[3 * i + 2] - y0);
                }
            }
            const long lo = r < w ? r : w;
            for (long x = 0; x < w; x = (x + 1 == lo && w - r > lo) ? w - r : x + 1)
                bilateral_r_px(src, (int)h, (int)w, (int)x, (int)y, P, dst + (y * w + x) * 3, r);
        }
    }
}

extern "C" {

void bilateral(const float* __restrict src, float* __restrict dst, long h, long w,
               const float* __restrict P, float* __restrict luma_scratch) {
    const int r = (int)P[0];
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < h * w; ++i) luma_scratch[i] = k_luma(src[3 * i], src[3 * i + 1], src[3 * i + 2]);
    const bool l = P[2] > 0.0f, c = P[3] > 0.0f;
    if (l && c) bilateral_rows<true, true>(src, luma_scratch, dst, h, w, P, r);
    else if (l) bilateral_rows<true, false>(src, luma_scratch, dst, h, w, P, r);
    else if (c) bilateral_rows<false, true>(src, luma_scratch, dst, h, w, P, r);
    else bilateral_rows<false, false>(src, luma_scratch, dst, h, w, P, r);
}

void warp(const float* __restrict src, float* __restrict dst, long h, long w, int c, long out_h,
          long out_w, long y0, const float* __restrict P) {
#pragma omp parallel for schedule(dynamic, 8)
    for (long y = 0; y < out_h; ++y) {
        if (c == 3) {  // a constant channel count lets the compiler unroll and vectorise (gathers)
#pragma omp simd
            for (long x = 0; x < out_w; ++x)
                warp_px(src, (int)h, (int)w, 3, (float)x, (float)(y + y0), P, dst + (y * out_w + x) * 3);
        } else {
            for (long x = 0; x < out_w; ++x)
                warp_px(src, (int)h, (int)w, c, (float)x, (float)(y + y0), P, dst + (y * out_w + x) * c);
        }
    }
}

void resize_v(const float* __restrict src, float* __restrict dst, long h, long rowlen, long n_out,
              const int* __restrict starts, const float* __restrict wts, int taps) {
#pragma omp parallel for schedule(static)
    for (long y = 0; y < n_out; ++y) {
        float* d = dst + y * rowlen;
        const float* wy = wts + y * taps;
#pragma omp simd
        for (long e = 0; e < rowlen; ++e) d[e] = resize_px(src + e, (int)h, rowlen, starts[y], wy, taps);
    }
}

void resize_h(const float* __restrict src, float* __restrict dst, long h, long w, int c, long n_out,
              const int* __restrict starts, const float* __restrict wts, int taps) {
#pragma omp parallel for schedule(static)
    for (long y = 0; y < h; ++y) {
        const float* s = src + y * w * c;
        float* d = dst + y * n_out * c;
        if (c != 3) {
            for (long x = 0; x < n_out; ++x)
                for (int ch = 0; ch < c; ++ch)
                    d[x * c + ch] = resize_px(s + ch, (int)w, c, starts[x], wts + x * taps, taps);
            continue;
        }
        // RGB: taps outer, output pixels inner (vector gathers), summed in resize_px's order.
        for (long x = 0; x < n_out * 3; ++x) d[x] = 0.0f;
        for (int t = 0; t < taps; ++t) {
#pragma omp simd
            for (long x = 0; x < n_out; ++x) {
                int i = starts[x] + t;
                i = i >= w ? (int)w - 1 : i;
                const float wt = wts[x * taps + t];
                d[x * 3] += wt * s[(long)i * 3];
                d[x * 3 + 1] += wt * s[(long)i * 3 + 1];
                d[x * 3 + 2] += wt * s[(long)i * 3 + 2];
            }
        }
    }
}

}  // extern "C"

#include "detail_apply.cu"

extern "C" {

void local_contrast(float* __restrict img, long h, long w, long y0, const float* __restrict G,
                    const float* __restrict P) {
#pragma omp parallel for schedule(static)
    for (long y = 0; y < h; ++y) {
        float* row = img + y * w * 3;
#pragma omp simd
        for (long x = 0; x < w; ++x)
            local_contrast_px(row[3 * x], row[3 * x + 1], row[3 * x + 2], (float)x, (float)(y + y0), G, P);
    }
}

void dehaze(float* __restrict img, long h, long w, long y0, const float* __restrict G,
            const float* __restrict P) {
#pragma omp parallel for schedule(static)
    for (long y = 0; y < h; ++y) {
        float* row = img + y * w * 3;
#pragma omp simd
        for (long x = 0; x < w; ++x)
            dehaze_px(row[3 * x], row[3 * x + 1], row[3 * x + 2], (float)x, (float)(y + y0), G, P);
    }
}

void sharpen(float* __restrict img, const float* __restrict Yb, long h, long w, long yb_offset,
             long yb_h, const float* __restrict P) {
#pragma omp parallel for schedule(static)
    for (long y = 0; y < h; ++y) {
        float* row = img + y * w * 3;
#pragma omp simd
        for (long x = 0; x < w; ++x)
            sharpen_px(row[3 * x], row[3 * x + 1], row[3 * x + 2], Yb, (int)yb_h, (int)w, (int)x,
                       (int)(y + yb_offset), P);
    }
}

void luma_plane(const float* __restrict img, float* __restrict out, long n) {
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; ++i) out[i] = k_luma(img[3 * i], img[3 * i + 1], img[3 * i + 2]);
}

}  // extern "C"

#include "transfer.cu"

extern "C" {

void decode_u8(const unsigned char* __restrict src, float* __restrict dst, long n,
               const float* __restrict table, int swap) {
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; ++i) decode_u8_px(src + 3 * i, table, swap, dst + 3 * i);
}

void encode_u8(const float* __restrict src, unsigned char* __restrict dst, long n,
               const unsigned char* __restrict table, int size, int swap) {
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; ++i) encode_u8_px(src + 3 * i, table, size, swap, dst + 3 * i);
}

}  // extern "C"
