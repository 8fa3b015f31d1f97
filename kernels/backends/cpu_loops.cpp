// Host loops over the neighbourhood kernels of kernels/cuda: OpenMP threads over rows, SIMD
// over the pixels of a row. Each loop body calls the same __device__ gather the GPU runs.
#include <omp.h>

#include <vector>

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

}  // extern "C"

// Warp, host loop, for RGB: each row in chunks of K_WARP_CHUNK output pixels. A SIMD loop
// computes every pixel's source taps (warp_undistort, warp_source, warp_cr: the device
// functions) into L1 arrays, then a scalar loop sums each pixel's 4 x 4 taps with the three
// channels of a tap as one small vector. Per-pixel SIMD code needs 48 gathers a pixel, which
// are microcoded on AMD Zen (~1 cycle an element) and no faster elsewhere than scalar loads.
// Without CA the channels share a position; with CA each channel samples its own.
#define K_WARP_CHUNK 256
typedef float k_v4f __attribute__((vector_size(16)));

static inline k_v4f warp_tap3(const float* p) {  // resize_h's last row
    k_v4f v = {p[0], p[1], p[2], 0.0f};
    return v;
}

// Taps of chunk pixels [0, n) of output row Y starting at X0, channel ch's position: row and
// column offsets (floats into src, clamped to the edge) and the Catmull-Rom weights, each as
// 4 arrays of K_WARP_CHUNK (tap k of pixel i at [k * K_WARP_CHUNK + i]).
// The warp's parameters are copied to a local array first: read through the caller's pointer
// inside the loop, GCC does not treat them as invariant and gives up vectorising.
static void warp_taps(long n, float X0, float Y, int h, int w, const float* __restrict params,
                      int ch, int* __restrict rows, int* __restrict cols, float* __restrict wxs,
                      float* __restrict wys) {
    float P[14];
    for (int q = 0; q < 14; ++q) P[q] = params[q];
    const float ca = P[8 + ch];
#pragma omp simd
    for (long i = 0; i < n; ++i) {
        float u, v, f, sx, sy;
        warp_undistort(X0 + (float)i, Y, P, u, v, f);
        warp_source(u, v, f, P, ca, sx, sy);
        sx = k_clamp(sx, 0.0f, (float)(w - 1));
        sy = k_clamp(sy, 0.0f, (float)(h - 1));
        int ix = k_floor_int(sx), iy = k_floor_int(sy);
        warp_cr4(sx - (float)ix, wxs[i], wxs[K_WARP_CHUNK + i], wxs[2 * K_WARP_CHUNK + i],
                 wxs[3 * K_WARP_CHUNK + i]);
        warp_cr4(sy - (float)iy, wys[i], wys[K_WARP_CHUNK + i], wys[2 * K_WARP_CHUNK + i],
                 wys[3 * K_WARP_CHUNK + i]);
        K_UNROLL
        for (int k = 0; k < 4; ++k) {
            int xx = ix + k - 1, yy = iy + k - 1;
            xx = xx < 0 ? 0 : (xx >= w ? w - 1 : xx);
            yy = yy < 0 ? 0 : (yy >= h ? h - 1 : yy);
            cols[k * K_WARP_CHUNK + i] = 3 * xx;
            rows[k * K_WARP_CHUNK + i] = 3 * w * yy;
        }
    }
}

extern "C" {

void warp(const float* __restrict src, float* __restrict dst, long h, long w, int c, long out_h,
          long out_w, long y0, const float* __restrict P) {
    const bool shared = c == 3 && P[8] == P[9] && P[9] == P[10];  // no CA: one position
    const int last_row = (int)(3 * w * (h - 1));
#pragma omp parallel
    {
        alignas(64) int rows[4][K_WARP_CHUNK], cols[4][K_WARP_CHUNK];
        alignas(64) float wxs[4][K_WARP_CHUNK], wys[4][K_WARP_CHUNK];
        // A tap reads a pixel's three channels as four floats: the source's last row is read
        // from a copy with one float to spare, so its last pixel does not read past the end.
        std::vector<float> tail(shared ? 3 * w + 1 : 0, 0.0f);
        if (shared) memcpy(tail.data(), src + last_row, 3 * w * sizeof(float));
#pragma omp for schedule(dynamic, 8)
        for (long y = 0; y < out_h; ++y) {
            float* drow = dst + y * out_w * c;
            if (c != 3) {
                for (long x = 0; x < out_w; ++x)
                    warp_px(src, (int)h, (int)w, c, (float)x, (float)(y + y0), P, drow + x * c);
                continue;
            }
            for (long x0 = 0; x0 < out_w; x0 += K_WARP_CHUNK) {
                const long n = out_w - x0 < K_WARP_CHUNK ? out_w - x0 : K_WARP_CHUNK;
                float* d = drow + 3 * x0;
                for (int ch = 0; ch < (shared ? 1 : 3); ++ch) {
                    warp_taps(n, (float)x0, (float)(y + y0), (int)h, (int)w, P, shared ? 1 : ch,
                              rows[0], cols[0], wxs[0], wys[0]);
                    if (shared) {
                        for (long i = 0; i < n; ++i) {
                            k_v4f acc = {0.0f, 0.0f, 0.0f, 0.0f};
                            for (int j = 0; j < 4; ++j) {
                                const float* r = rows[j][i] == last_row ? tail.data() : src + rows[j][i];
                                k_v4f racc = {0.0f, 0.0f, 0.0f, 0.0f};
                                for (int k = 0; k < 4; ++k) {
                                    k_v4f tap;
                                    memcpy(&tap, r + cols[k][i], sizeof tap);
                                    racc += wxs[k][i] * tap;
                                }
                                acc += wys[j][i] * racc;
                            }
                            d[3 * i] = acc[0]; d[3 * i + 1] = acc[1]; d[3 * i + 2] = acc[2];
                        }
                    } else {
                        for (long i = 0; i < n; ++i) {
                            float acc = 0.0f;
                            for (int j = 0; j < 4; ++j) {
                                const float* r = src + rows[j][i] + ch;
                                float racc = 0.0f;
                                for (int k = 0; k < 4; ++k) racc += wxs[k][i] * r[cols[k][i]];
                                acc += wys[j][i] * racc;
                            }
                            d[3 * i + ch] = acc;
                        }
                    }
                }
            }
        }
    }
}

// Rows: each output element sums its taps in registers, in resize_px's order, from row pointers
// clamped at the last row (as resize_px clamps); host vectors of K_VLEN elements, two at a time.
// Each thread takes consecutive output rows and walks them down one strip of K_RESIZE_STRIP
// elements at a time: consecutive rows' windows overlap (~19 source rows, moving ~3 a row when
// shrinking 3x), so a strip's window stays in L2 and each source element comes from memory once.
// Whole rows at a time read each source row ~6 times from L3. Per-element code did not
// vectorise: GCC splits resize_px's tap loop at the clamp, or gathers along the taps.
#define K_RESIZE_TAPS 64
#define K_RESIZE_STRIP 1024
static void resize_v_rows(const float* __restrict src, float* __restrict dst, long h, long rowlen,
                          long y_lo, long y_hi, const int* __restrict starts,
                          const float* __restrict wts, int taps) {
    for (long e0 = 0; e0 < rowlen; e0 += K_RESIZE_STRIP) {
        const long e1 = rowlen - e0 < K_RESIZE_STRIP ? rowlen : e0 + K_RESIZE_STRIP;
        for (long y = y_lo; y < y_hi; ++y) {
            float* d = dst + y * rowlen;
            const float* wy = wts + y * taps;
            const float* rows[K_RESIZE_TAPS];
            for (int t = 0; t < taps; ++t) {
                long i = starts[y] + t;
                rows[t] = src + (i >= h ? h - 1 : i) * rowlen;
            }
            long e = e0;
            for (; e + 2 * K_VLEN <= e1; e += 2 * K_VLEN) {
                k_vf a = {}, b = {};
                for (int t = 0; t < taps; ++t) {
                    a += wy[t] * k_load_vf(rows[t] + e);
                    b += wy[t] * k_load_vf(rows[t] + e + K_VLEN);
                }
                k_store_vf(d + e, a);
                k_store_vf(d + e + K_VLEN, b);
            }
            for (; e < e1; ++e) {
                float acc = 0.0f;
                for (int t = 0; t < taps; ++t) acc += wy[t] * rows[t][e];
                d[e] = acc;
            }
        }
    }
}

void resize_v(const float* __restrict src, float* __restrict dst, long h, long rowlen, long n_out,
              const int* __restrict starts, const float* __restrict wts, int taps) {
    if (taps > K_RESIZE_TAPS) {  // a shrink by more than ~10x: the gather as it is
#pragma omp parallel for schedule(static)
        for (long y = 0; y < n_out; ++y)
            for (long e = 0; e < rowlen; ++e)
                dst[y * rowlen + e] = resize_px(src + e, (int)h, rowlen, starts[y], wts + y * taps, taps);
        return;
    }
#pragma omp parallel
    {
        const long k = omp_get_thread_num(), n = omp_get_num_threads();
        resize_v_rows(src, dst, h, rowlen, n_out * k / n, n_out * (k + 1) / n, starts, wts, taps);
    }
}

}  // extern "C"

// Columns, RGB: each output pixel sums its window (contiguous in the row) with the three
// channels of a tap as one small vector, taps in resize_px's order. Across output pixels the
// windows start at different places: vectorising that way gathers (microcoded on AMD Zen).
// A tap reads four floats; the image's very last pixel has no fourth, so the last row reads
// three.
template <bool LAST_ROW>
static inline k_v4f resize_tap(const float* p) {
    if (LAST_ROW) return warp_tap3(p);
    k_v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

template <bool LAST_ROW>
static void resize_h_rgb_row(const float* __restrict s, float* __restrict d, long w, long n_out,
                             const int* __restrict starts, const float* __restrict wts, int taps) {
    for (long x = 0; x < n_out; ++x) {
        const float* wx = wts + x * taps;
        k_v4f acc = {0.0f, 0.0f, 0.0f, 0.0f};
        for (int t = 0; t < taps; ++t) {
            long i = starts[x] + t;
            i = i >= w ? w - 1 : i;
            acc += wx[t] * resize_tap<LAST_ROW>(s + 3 * i);
        }
        d[3 * x] = acc[0]; d[3 * x + 1] = acc[1]; d[3 * x + 2] = acc[2];
    }
}

extern "C" {

void resize_h(const float* __restrict src, float* __restrict dst, long h, long w, int c, long n_out,
              const int* __restrict starts, const float* __restrict wts, int taps) {
#pragma omp parallel for schedule(static)
    for (long y = 0; y < h; ++y) {
        const float* s = src + y * w * c;
        float* d = dst + y * n_out * c;
        if (c == 3 && y < h - 1) {
            resize_h_rgb_row<false>(s, d, w, n_out, starts, wts, taps);
        } else if (c == 3) {
            resize_h_rgb_row<true>(s, d, w, n_out, starts, wts, taps);
        } else {
            for (long x = 0; x < n_out; ++x)
                for (int ch = 0; ch < c; ++ch)
                    d[x * c + ch] = resize_px(s + ch, (int)w, c, starts[x], wts + x * taps, taps);
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
