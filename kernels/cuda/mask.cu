// Local adjustment masks: each shape's coverage of one pixel, and their combination, for the
// program kernels/ops/mask_program.py packs (the reference is kernels/ops/masks.py).
// A program is floats with integer fields stored as their bits (k_int): P[0] the number of
// shapes, P[1 + i] the offset of shape i's block. A block: kind, mode, invert, opacity, then
// the kind's fields (MASK_* below). Pixel positions are global: (x, y) is the pixel whose
// centre is (x + 0.5, y + 0.5). Shapes measure from an origin split into an integer pixel and a
// fraction, so a position is taken relative to it exactly before any float rounding: float32
// keeps distances near a shape precise wherever that shape is in a large image.
// detail_apply.cu: grid_sample, the bilinear sampling of bitmap masks. (No comment after an
// include: the CUDA backend inlines only includes alone on their line.)
#include "common.cuh"
#include "detail_apply.cu"

#define MASK_LINEAR 0
#define MASK_RADIAL 1
#define MASK_BRUSH 2
#define MASK_LUMINOSITY 3
#define MASK_COLOR 4
#define MASK_BITMAP 5
#define MASK_ADD 0
#define MASK_SUBTRACT 1
#define MASK_INTERSECT 2
#define MASK_HEAD 4  // kind, mode, invert, opacity

// A segment of a brush stroke: origin (integer, fraction), direction, 1 / length^2 (0 for a
// single dab), the stroke it belongs to.
#define MASK_SEG_FLOATS 8
// A stroke: radius, where the feather starts, 1 / (radius - that), flow, erase (0 or 1).
#define MASK_STROKE_FLOATS 5

__device__ int k_int(float f) { return __float_as_int(f); }

// The position of pixel (x, y)'s centre from an origin given as (integer ix, iy; fraction fx,
// fy): the integer part is subtracted exactly.
__device__ void mask_offset(int x, int y, const float* __restrict__ O, float& u, float& v) {
    u = (float)(x - k_int(O[0])) + (0.5f - O[2]);
    v = (float)(y - k_int(O[1])) + (0.5f - O[3]);
}

__device__ float mask_smoothstep(float e0, float inv_width, float x) {
    float t = k_clamp01((x - e0) * inv_width);
    return t * t * (3.0f - 2.0f * t);
}

// Linear gradient. S: origin (4), then the direction over its squared length (ux, uy).
__device__ float mask_linear(int x, int y, const float* __restrict__ S) {
    float u, v;
    mask_offset(x, y, S, u, v);
    return 1.0f - mask_smoothstep(0.0f, 1.0f, u * S[4] + v * S[5]);
}

// Radial gradient. S: centre (4), the rotation scaled by the radii (a, b, c, d: normalised
// coordinates a u + b v, c u + d v), where the fall-off starts, 1 / its width.
__device__ float mask_radial(int x, int y, const float* __restrict__ S) {
    float u, v;
    mask_offset(x, y, S, u, v);
    float p = S[4] * u + S[5] * v, q = S[6] * u + S[7] * v;
    return 1.0f - mask_smoothstep(S[8], S[9], sqrtf(p * p + q * q));
}

// Gamma-encoded luminosity between two soft thresholds. S: low - softness, high, 1 / softness.
__device__ float mask_luminosity(float r, float g, float b, const float* __restrict__ S) {
    float lum = k_clamp01(k_pow(k_luma(r, g, b), 1.0f / 2.2f));
    return mask_smoothstep(S[0], S[2], lum) * (1.0f - mask_smoothstep(S[1], S[2], lum));
}

// HSV hue near a centre and saturation above a minimum. S: hue (deg), where the hue fall-off
// starts, 1 / its width, where the saturation ramp starts, 1 / its width.
__device__ float mask_color(float r, float g, float b, const float* __restrict__ S) {
    float mx = k_max(r, k_max(g, b));
    float mn = k_min(r, k_min(g, b));
    float c = mx - mn;
    float cs = c > 1e-12f ? c : 1.0f;
    float num = (mx == r) ? g - b : ((mx == g) ? b - r : r - g);
    float base = (mx == r) ? 0.0f : ((mx == g) ? 2.0f : 4.0f);
    float h6 = num * k_rcp(cs) + base;
    float hue = (h6 < 0.0f ? h6 + 6.0f : h6) * 60.0f;
    float sat = mx > 1e-8f ? c * k_rcp(mx > 1e-8f ? mx : 1.0f) : 0.0f;
    float d = hue - S[0];
    d -= 360.0f * floorf(d * (1.0f / 360.0f) + 0.5f);  // to the nearest turn: [-180, 180]
    float w_hue = 1.0f - mask_smoothstep(S[1], S[2], k_abs(d));
    return w_hue * mask_smoothstep(S[3], S[4], sat);
}

// Bitmap (AI selection): bilinear in the bitmap, stretched over the image. S: rows, columns
// (integers), image pixels per bitmap pixel along x and y.
__device__ float mask_bitmap(int x, int y, const float* __restrict__ S, const float* __restrict__ bm) {
    return k_clamp01(grid_sample(bm, k_int(S[0]), k_int(S[1]), S[2], S[3], (float)x, (float)y));
}

// Squared distance from pixel (x, y)'s centre to a stroke segment (a capsule's axis).
__device__ float mask_segment_d2(int x, int y, const float* __restrict__ seg) {
    float u, v;
    mask_offset(x, y, seg, u, v);
    float t = k_clamp01((u * seg[4] + v * seg[5]) * seg[6]);
    float ex = u - t * seg[4], ey = v - t * seg[5];
    return ex * ex + ey * ey;
}

// A stroke's dab at squared distance d2 combined into the brush's coverage.
__device__ float mask_stroke(float acc, float d2, const float* __restrict__ st) {
    float dab = st[3] * (1.0f - mask_smoothstep(st[1], st[2], sqrtf(d2)));
    return st[4] != 0.0f ? acc * (1.0f - dab) : k_max(acc, dab);
}

// A shape's coverage v into the mask's: invert, opacity, then add (max), subtract (a (1 - v))
// or intersect (a v), in the shapes' order.
__device__ float mask_combine(float acc, float v, const float* __restrict__ S) {
    v = (S[2] != 0.0f ? 1.0f - v : v) * S[3];
    int mode = k_int(S[1]);
    return mode == MASK_ADD ? k_max(acc, v) : (mode == MASK_SUBTRACT ? acc * (1.0f - v) : acc * v);
}

// Brush blocks after the head: segment count, then offsets (from the block) of the segments,
// the strokes, the tiles' list offsets and the lists; tile rows and columns (pixels), tiles
// across, the first tile row (global) and how many tile rows the program covers. Each tile
// lists, in stroke order, the segments whose capsule can reach it.
#define MASK_BRUSH_SEGS 5
#define MASK_BRUSH_STROKES 6
#define MASK_BRUSH_STARTS 7
#define MASK_BRUSH_ITEMS 8
#define MASK_BRUSH_TILE_H 9
#define MASK_BRUSH_TILE_W 10
#define MASK_BRUSH_TILES_X 11
#define MASK_BRUSH_TILE_Y0 12

// The brush's coverage of one pixel (the GPU's form; the host runs the same functions over a
// row's chunk, segment by segment: kernels/backends/mask_loops.cpp).
__device__ float mask_brush(int x, int y, const float* __restrict__ S) {
    const float* segs = S + k_int(S[MASK_BRUSH_SEGS]);
    const float* strokes = S + k_int(S[MASK_BRUSH_STROKES]);
    const float* starts = S + k_int(S[MASK_BRUSH_STARTS]);
    const float* items = S + k_int(S[MASK_BRUSH_ITEMS]);
    int tile = (y / k_int(S[MASK_BRUSH_TILE_H]) - k_int(S[MASK_BRUSH_TILE_Y0])) * k_int(S[MASK_BRUSH_TILES_X]) +
               x / k_int(S[MASK_BRUSH_TILE_W]);
    int end = k_int(starts[tile + 1]);
    float acc = 0.0f, d2 = 3.0e38f;
    int stroke = -1;
    for (int k = k_int(starts[tile]); k < end; ++k) {
        const float* seg = segs + MASK_SEG_FLOATS * k_int(items[k]);
        int s = k_int(seg[7]);
        if (s != stroke) {
            if (stroke >= 0) acc = mask_stroke(acc, d2, strokes + MASK_STROKE_FLOATS * stroke);
            stroke = s;
            d2 = 3.0e38f;
        }
        d2 = k_min(d2, mask_segment_d2(x, y, seg));
    }
    if (stroke >= 0) acc = mask_stroke(acc, d2, strokes + MASK_STROKE_FLOATS * stroke);
    return acc;
}

#ifdef __CUDACC__
// One thread per pixel of a band (rows y0 .. y0 + h of the image): every shape in order.
// bitmaps: device pointers to the program's bitmaps, indexed by the block's bitmap number.
extern "C" __global__ void mask_kernel(const float* __restrict__ rgb, float* __restrict__ out,
                                       int w, int h, int y0, const float* __restrict__ P,
                                       const float* const* __restrict__ bitmaps) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int yb = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || yb >= h) return;
    long i = (long)yb * w + x;
    float r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2];
    int y = yb + y0;
    float acc = 0.0f;
    int n = k_int(P[0]);
    for (int s = 0; s < n; ++s) {
        const float* S = P + k_int(P[1 + s]);
        const float* F = S + MASK_HEAD;
        int kind = k_int(S[0]);
        float v;
        if (kind == MASK_LINEAR) v = mask_linear(x, y, F);
        else if (kind == MASK_RADIAL) v = mask_radial(x, y, F);
        else if (kind == MASK_BRUSH) v = mask_brush(x, y, S);
        else if (kind == MASK_LUMINOSITY) v = mask_luminosity(r, g, b, F);
        else if (kind == MASK_COLOR) v = mask_color(r, g, b, F);
        else v = mask_bitmap(x, y, F + 1, bitmaps[k_int(F[0])]);
        acc = mask_combine(acc, v, S);
    }
    out[i] = acc;
}
#endif
