// CPU shim: lets the CUDA sources compile as C++ for the host build.
// __device__ functions become static inline so the OpenMP loops inline them; __global__
// wrappers are only compiled under __CUDACC__, so the host never sees them.
#pragma once
#ifndef __CUDACC__
#include <stdint.h>
#include <string.h>
// always_inline: a per-pixel function left out of line keeps r, g, b in memory and the
// pixel loop scalar.
#define __device__ static inline __attribute__((always_inline))
#define __host__
#define __restrict__ __restrict
// Fixed-count inner loops must be unrolled for GCC to vectorise the pixel loop around them.
#define K_UNROLL _Pragma("GCC unroll 16")
// Bit casts: memcpy is what GCC turns into a plain register move (and vectorises).
static inline int __float_as_int(float f) { int i; memcpy(&i, &f, sizeof i); return i; }
static inline float __int_as_float(int i) { float f; memcpy(&f, &i, sizeof f); return f; }
static inline unsigned int __float_as_uint(float f) { unsigned int i; memcpy(&i, &f, sizeof i); return i; }

// The fused host pass works on rows in chunks of K_CHUNK pixels held in L1 (backends/fused.py);
// a stage may provide `<name>_chunk` to run its own loops over a chunk (hsl.cu).
#define K_CHUNK 512
// Host vectors for the few steps GCC cannot vectorise from per-pixel code: a lookup in a table
// of up to K_VLEN entries held in a register is one permute (__builtin_shuffle -> vpermps),
// where per-pixel code would gather or select through every entry. K_CHUNK is a multiple.
#if defined(__AVX512F__)
#define K_VLEN 16
#else
#define K_VLEN 8
#endif
typedef float k_vf __attribute__((vector_size(4 * K_VLEN)));
typedef int k_vi __attribute__((vector_size(4 * K_VLEN)));
static inline k_vf k_load_vf(const float* p) { k_vf v; memcpy(&v, p, sizeof v); return v; }
static inline k_vi k_load_vi(const int* p) { k_vi v; memcpy(&v, p, sizeof v); return v; }
static inline void k_store_vf(float* p, k_vf v) { memcpy(p, &v, sizeof v); }
// A table of up to 16 floats (n entries from `first`, every `stride` floats) in registers:
// k_lookup16(table, i) is entry i for each lane, one permute (two vectors on AVX2: indices of
// the two-vector shuffle run over both).
#define K_TABLE_VECS (16 / K_VLEN)
struct k_table16 {
    k_vf v[K_TABLE_VECS];
};
static inline k_table16 k_make_table16(const float* first, int n, int stride) {
    float e[16];
    for (int j = 0; j < 16; ++j) e[j] = j < n ? first[j * stride] : 0.0f;
    k_table16 t;
    memcpy(t.v, e, sizeof e);
    return t;
}
static inline k_vf k_lookup16(const k_table16& t, k_vi i) {
#if K_VLEN == 16
    return __builtin_shuffle(t.v[0], i);
#else
    return __builtin_shuffle(t.v[0], t.v[1], i);
#endif
}
#else
#define K_UNROLL _Pragma("unroll")
#endif
