// Helpers shared by every kernel. No libm calls in per-pixel code: the polynomial log2/exp2
// below vectorise under `omp simd` on the CPU and are identical on the GPU, so both targets
// compute the same numbers (relative error < 1e-6 against the true functions).
#pragma once
#include "shim_cpu.h"
#ifndef __CUDACC__
#include <math.h>
#endif

#define KY_R 0.2627f  // Rec.2020 luminance weights (linear light)
#define KY_G 0.6780f
#define KY_B 0.0593f

__device__ float k_min(float a, float b) { return a < b ? a : b; }
__device__ float k_max(float a, float b) { return a > b ? a : b; }
__device__ float k_clamp(float v, float lo, float hi) { return k_min(k_max(v, lo), hi); }
// |v| as the sign bit cleared: one AND (a compare and a masked negate as a select).
__device__ float k_abs(float v) { return __int_as_float(__float_as_int(v) & 0x7fffffff); }
// max(v, 0) and clamp(v, 0, 1) on the bits (non-negative floats order as their bits do): GCC
// compiles a select against a constant bound into compares and blends, several per bound,
// where these are one or two integer operations. A NaN with the sign bit clear is kept by
// k_max0 and becomes 1 in k_clamp01 (k_clamp gives 0 for any NaN).
__device__ float k_max0(float v) {
    int i = __float_as_int(v);
    return __int_as_float(i & ~(i >> 31));
}
__device__ float k_clamp01(float v) {
    int i = __float_as_int(k_max0(v));
    return __int_as_float(i < 0x3f800000 ? i : 0x3f800000);
}
__device__ float k_luma(float r, float g, float b) { return KY_R * r + KY_G * g + KY_B * b; }
__device__ float k_smoothstep(float e0, float e1, float x) {
    float t = k_clamp((x - e0) / (e1 - e0), 0.0f, 1.0f);
    return t * t * (3.0f - 2.0f * t);
}
// mask ? a : b for mask all ones (-1) or 0, with both operands always evaluated (a load in a
// plain select can become a masked load, which stops host vectorisation).
__device__ float k_pick(int mask, float a, float b) {
    return __int_as_float((__float_as_int(a) & mask) | (__float_as_int(b) & ~mask));
}
__device__ int k_floor_int(float v) { return (int)floorf(v); }  // floorf: one vector round

// Tables indexed by a float's bits: sampled at every float from `lo` (a power of two) whose
// mantissa's low K_SEG_SHIFT bits are zero, i.e. 2^(23 - K_SEG_SHIFT) = 128 segments per octave,
// linear in v within a segment (a piecewise-linear log2 for free: no log2, no square root).
// For lo <= v < the table's last entry: returns the segment, sets f in [0, 1) to the position in
// it (exact: the low mantissa bits times a power of two). kernels/ops/stage.py: bits_index.
#define K_SEG_SHIFT 16
__device__ int k_bits_index(float v, float lo, float& f) {
    int d = __float_as_int(v) - __float_as_int(lo);
    f = (float)(d & ((1 << K_SEG_SHIFT) - 1)) * (1.0f / (float)(1 << K_SEG_SHIFT));
    return d >> K_SEG_SHIFT;
}

// A table of (value, slope) pairs, T[2i] and T[2i + 1], read at segment i and fraction f: one
// lookup per value where (T[i], T[i + 1]) took two. On the host the pair is one 64-bit load
// (a 64-bit gather, 8 lanes per instruction, with a 32-bit index); gathers are microcoded on
// AMD Zen (about a cycle per element), so halving the elements halves the tables' cost there.
__device__ float k_lerp_pair(const float* __restrict__ T, int i, float f) {
#ifdef __CUDACC__
    return T[2 * i] + T[2 * i + 1] * f;
#else
    uint64_t q;
    memcpy(&q, T + 2 * i, sizeof q);
    return __int_as_float((int)(uint32_t)q) + __int_as_float((int)(uint32_t)(q >> 32)) * f;
#endif
}

// 1 / v for finite v > 0 (1e-30 .. 1e30): on the host a bit-trick estimate and three Newton
// steps (relative error < 2e-7, i.e. 1-2 float ulps) in eight FMA-port operations, where a
// vector division occupies the divider for ~10 cycles per 16 lanes. The GPU divides.
__device__ float k_rcp(float v) {
#ifdef __CUDACC__
    return 1.0f / v;
#else
    float e = __int_as_float(0x7ef311c3 - __float_as_int(v));  // within ~12% of 1 / v
    e = e * (2.0f - v * e);
    e = e * (2.0f - v * e);
    e = e * (2.0f - v * e);
    return e;
#endif
}

// log2 for v > 0: exponent from the bits, mantissa in [sqrt(1/2), sqrt(2)) through the
// atanh series (error ~1e-9 before float rounding). Values below 1e-30 are clamped.
__device__ float k_log2(float v) {
    v = k_max(v, 1e-30f);
    int bits = __float_as_int(v);
    int e = ((bits >> 23) & 255) - 127;
    float m = __int_as_float((bits & 0x007fffff) | 0x3f800000);
    int big = m > 1.41421356f;
    m = big ? m * 0.5f : m;
    e = big ? e + 1 : e;
    float t = (m - 1.0f) * k_rcp(m + 1.0f);
    float t2 = t * t;
    float s = t * (1.0f + t2 * (1.0f / 3.0f + t2 * (1.0f / 5.0f + t2 * (1.0f / 7.0f + t2 * (1.0f / 9.0f)))));
    return (float)e + 2.8853900817779268f * s;  // 2/ln 2
}

// exp2 via n = round(x), f in [-0.5, 0.5], Taylor series of e^(f ln2) to degree 7.
__device__ float k_exp2(float x) {
    x = k_clamp(x, -126.0f, 127.0f);
    int n = k_floor_int(x + 0.5f);
    float f = (x - (float)n) * 0.69314718056f;
    float p = 1.0f + f * (1.0f + f * (0.5f + f * (1.0f / 6.0f + f * (1.0f / 24.0f + f * (1.0f / 120.0f + f * (1.0f / 720.0f + f * (1.0f / 5040.0f)))))));
    return p * __int_as_float((n + 127) << 23);
}

// 2^x for |x| <= 1 (a stop either way, no range reduction): a degree-7 polynomial fitted to
// 2^x on [-1, 1] (relative error < 3e-7 in float32), 1 exactly at 0. Half of k_exp2's work.
__device__ float k_exp2_small(float x) {
    return 1.0f + x * (0.6931472420692444f + x * (0.24022673070430756f + x * (0.05550381913781166f + x * (0.009616800583899021f + x * (0.0013339366996660829f + x * (0.00015644004452042282f + x * 1.5010140486992896e-05f))))));
}

// v^e for v > 0 (0 otherwise): only used on non-negative quantities.
__device__ float k_pow(float v, float e) { return v > 0.0f ? k_exp2(e * k_log2(v)) : 0.0f; }

// Thin __global__ wrapper for a per-pixel function: one thread per pixel, interleaved RGB.
// The pipeline normally launches generated fused kernels instead; these keep each op
// launchable (and compiled in CI) on its own.
#ifdef __CUDACC__
#define PIXEL_KERNEL(name, fn)                                                                  \
    extern "C" __global__ void name(const float* __restrict__ src, float* __restrict__ dst,     \
                                    int w, int h, int x0, int y0, const float* __restrict__ P) { \
        int x = blockIdx.x * blockDim.x + threadIdx.x;                                          \
        int y = blockIdx.y * blockDim.y + threadIdx.y;                                          \
        if (x >= w || y >= h) return;                                                           \
        long i = ((long)y * w + x) * 3;                                                         \
        float r = src[i], g = src[i + 1], b = src[i + 2];                                       \
        fn(r, g, b, (float)(x + x0), (float)(y + y0), P);                                       \
        dst[i] = r; dst[i + 1] = g; dst[i + 2] = b;                                             \
    }
#else
#define PIXEL_KERNEL(name, fn)
#endif
