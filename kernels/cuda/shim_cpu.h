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
#else
#define K_UNROLL _Pragma("unroll")
#endif
