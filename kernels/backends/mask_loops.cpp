// Host rasteriser for the mask programs of kernels/ops/mask_program.py: OpenMP threads over
// rows, each row in chunks of K_CHUNK pixels held in L1. Every shape of the program is one SIMD
// loop over the chunk calling its __device__ coverage function (kernels/cuda/mask.cu), combined
// into the chunk's coverage in order; the dispatch on the shape's kind happens once per chunk.
// A brush visits only the segments listed for the chunk's tile, each over the columns its
// capsule can reach.
#include "common.cuh"
#include "mask.cu"

// A brush's coverage of pixels [c0, c0 + n) of row y into V. D: scratch (squared distances).
static void mask_brush_chunk(const float* __restrict S, int y, long c0, long n, float* __restrict V,
                             float* __restrict D) {
    const float* segs = S + k_int(S[MASK_BRUSH_SEGS]);
    const float* strokes = S + k_int(S[MASK_BRUSH_STROKES]);
    const float* starts = S + k_int(S[MASK_BRUSH_STARTS]);
    const float* items = S + k_int(S[MASK_BRUSH_ITEMS]);
    const int tile_w = k_int(S[MASK_BRUSH_TILE_W]);
    const int tile = (y / k_int(S[MASK_BRUSH_TILE_H]) - k_int(S[MASK_BRUSH_TILE_Y0])) *
                         k_int(S[MASK_BRUSH_TILES_X]) + (int)(c0 / tile_w);
#pragma omp simd
    for (long i = 0; i < n; ++i) V[i] = 0.0f;
    const int end = k_int(starts[tile + 1]);
    int k = k_int(starts[tile]);
    while (k < end) {
        // One stroke: its listed segments are consecutive. First the columns they reach.
        const int stroke = k_int(segs[MASK_SEG_FLOATS * k_int(items[k]) + 7]);
        const float* st = strokes + MASK_STROKE_FLOATS * stroke;
        const float radius = st[0];
        int last = k;
        long lo = n, hi = 0;
        for (; last < end; ++last) {
            const float* seg = segs + MASK_SEG_FLOATS * k_int(items[last]);
            if (k_int(seg[7]) != stroke) break;
            float ax = (float)k_int(seg[0]) + seg[2], bx = ax + seg[4];
            long a = (long)floorf(k_min(ax, bx) - radius - 0.5f) - c0;
            long b = (long)ceilf(k_max(ax, bx) + radius - 0.5f) - c0 + 1;
            lo = a < lo ? a : lo;
            hi = b > hi ? b : hi;
        }
        lo = lo < 0 ? 0 : lo;
        hi = hi > n ? n : hi;
        if (lo < hi) {
#pragma omp simd
            for (long i = lo; i < hi; ++i) D[i] = 3.0e38f;
            for (int j = k; j < last; ++j) {
                const float* seg = segs + MASK_SEG_FLOATS * k_int(items[j]);
                float ax = (float)k_int(seg[0]) + seg[2], bx = ax + seg[4];
                long a = (long)floorf(k_min(ax, bx) - radius - 0.5f) - c0;
                long b = (long)ceilf(k_max(ax, bx) + radius - 0.5f) - c0 + 1;
                a = a < lo ? lo : a;
                b = b > hi ? hi : b;
#pragma omp simd
                for (long i = a; i < b; ++i) D[i] = k_min(D[i], mask_segment_d2((int)(c0 + i), y, seg));
            }
#pragma omp simd
            for (long i = lo; i < hi; ++i) V[i] = mask_stroke(V[i], D[i], st);
        }
        k = last;
    }
}

extern "C" {

// The K_CHUNK the brush tiles must be a multiple of (mask_program.pack's tile_w).
long mask_chunk_width() { return K_CHUNK; }

// Coverage (before feather and mask opacity) of a band: rows y0 .. y0 + h of the image, rgb the
// band's working pixels (h x w x 3), out h x w. bitmaps: the program's bitmaps.
void mask_rasterise(const float* __restrict rgb, float* __restrict out, long h, long w, long y0,
                    const float* __restrict P, const float* const* __restrict bitmaps) {
    const int shapes = k_int(P[0]);
#pragma omp parallel
    {
        alignas(64) float A[K_CHUNK], V[K_CHUNK], D[K_CHUNK], R[K_CHUNK], G[K_CHUNK], B[K_CHUNK];
#pragma omp for schedule(static)
        for (long yb = 0; yb < h; ++yb) {
            const int y = (int)(yb + y0);
            for (long c0 = 0; c0 < w; c0 += K_CHUNK) {
                const long n = w - c0 < K_CHUNK ? w - c0 : K_CHUNK;
                const float* s = rgb + 3 * (yb * w + c0);
                bool planar = false;  // R, G, B hold this chunk
#pragma omp simd
                for (long i = 0; i < n; ++i) A[i] = 0.0f;
                for (int q = 0; q < shapes; ++q) {
                    const float* S = P + k_int(P[1 + q]);
                    const float* F = S + MASK_HEAD;
                    const int kind = k_int(S[0]);
                    if ((kind == MASK_LUMINOSITY || kind == MASK_COLOR) && !planar) {
#pragma omp simd
                        for (long i = 0; i < n; ++i) {
                            R[i] = s[3 * i]; G[i] = s[3 * i + 1]; B[i] = s[3 * i + 2];
                        }
                        planar = true;
                    }
                    const int x0 = (int)c0;
                    if (kind == MASK_LINEAR) {
#pragma omp simd
                        for (long i = 0; i < n; ++i) V[i] = mask_linear(x0 + (int)i, y, F);
                    } else if (kind == MASK_RADIAL) {
#pragma omp simd
                        for (long i = 0; i < n; ++i) V[i] = mask_radial(x0 + (int)i, y, F);
                    } else if (kind == MASK_LUMINOSITY) {
#pragma omp simd
                        for (long i = 0; i < n; ++i) V[i] = mask_luminosity(R[i], G[i], B[i], F);
                    } else if (kind == MASK_COLOR) {
#pragma omp simd
                        for (long i = 0; i < n; ++i) V[i] = mask_color(R[i], G[i], B[i], F);
                    } else if (kind == MASK_BITMAP) {
                        const float* bm = bitmaps[k_int(F[0])];
#pragma omp simd
                        for (long i = 0; i < n; ++i) V[i] = mask_bitmap(x0 + (int)i, y, F + 1, bm);
                    } else {
                        mask_brush_chunk(S, y, c0, n, V, D);
                    }
#pragma omp simd
                    for (long i = 0; i < n; ++i) A[i] = mask_combine(A[i], V[i], S);
                }
                float* o = out + yb * w + c0;
#pragma omp simd
                for (long i = 0; i < n; ++i) o[i] = A[i];
            }
        }
    }
}

}  // extern "C"
