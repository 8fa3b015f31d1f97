"""Generates the fused per-pixel kernel for a chain of stages: one pass over memory, each stage's
`__device__` function called in order on the pixel held in registers. The same generator writes
the OpenMP loop for the CPU and the `__global__` kernel for CUDA."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kernels.backends.cpu_build import CUDA_DIR

CPU_TEMPLATE = """\
{includes}
#if defined(__SSE2__)
#include <immintrin.h>
#endif

// Copies a chunk's interleaved output to dst with non-temporal (streaming) stores: a plain
// store first reads the destination line (read-for-ownership), so a pass over an image larger
// than the caches moved 3 bytes for every 2 that numpy.copyto (memcpy streams) moves. Only
// used for outputs too big to stay in cache; a band the next step reads keeps plain stores.
static inline void k_stream_out(float* __restrict d, const float* __restrict o, long m) {{
    long i = 0;
#if defined(__SSE2__)
    for (; i < m && ((unsigned long)(d + i) & 15); ++i) d[i] = o[i];
    for (; i + 4 <= m; i += 4) _mm_stream_ps(d + i, _mm_loadu_ps(o + i));
#endif
    for (; i < m; ++i) d[i] = o[i];
}}

// Host loop: each row is processed in chunks of K_CHUNK pixels. A chunk is split into planar
// r, g, b arrays that stay in L1, each stage runs as its own unit-stride SIMD loop over them,
// and the chunk is interleaved back. One long loop body calling every stage in turn spills
// registers and reloads its parameter pointers per vector (measured ~1.6x slower than the sum
// of the stages run alone); per-stage loops over an L1 chunk cost a few loads and stores.
// src and dst may be the same buffer (in-place passes): each chunk is read before it is written.
// stream: write dst with non-temporal stores (k_stream_out). K_CHUNK: shim_cpu.h.
// weight (or null): a mask's weights, weight_stride floats a row; each pixel becomes
// src + (stages(src) - src) * weight, the local adjustments' blend in the same pass.
extern "C" void fused(const float* src, float* dst, long h, long w,
                      long src_stride, long dst_stride, long x0, long y0,
                      const float* __restrict params, const long* __restrict offsets,
                      long stream, const float* __restrict weight, long weight_stride) {{
#pragma omp parallel
    {{
        alignas(64) float R[K_CHUNK];
        alignas(64) float G[K_CHUNK];
        alignas(64) float B[K_CHUNK];
        alignas(64) float O[3 * K_CHUNK];
{param_ptrs}
#pragma omp for schedule(static)
        for (long y = 0; y < h; ++y) {{
            const float fy = (float)(y + y0);
            for (long c0 = 0; c0 < w; c0 += K_CHUNK) {{
                const long n = w - c0 < K_CHUNK ? w - c0 : K_CHUNK;
                const float* s = src + y * src_stride + 3 * c0;
                float* d = dst + y * dst_stride + 3 * c0;
                const float fx0 = (float)(c0 + x0);
#pragma omp simd
                for (long i = 0; i < n; ++i) {{
                    R[i] = s[3 * i]; G[i] = s[3 * i + 1]; B[i] = s[3 * i + 2];
                }}
                // The next chunk (or the next row's first: each thread's rows are consecutive)
                // is fetched while this one computes: the hardware prefetchers alone left ~7%
                // of a single thread's time waiting on it. A prefetch past the end is harmless.
                for (long k = 0; k < 12 * K_CHUNK; k += 64) __builtin_prefetch((const char*)(s + 3 * K_CHUNK) + k);
{calls}
                if (weight) {{
                    const float* wt = weight + y * weight_stride + c0;
#pragma omp simd
                    for (long i = 0; i < n; ++i) {{
                        float r0 = s[3 * i], g0 = s[3 * i + 1], b0 = s[3 * i + 2];
                        R[i] = r0 + (R[i] - r0) * wt[i];
                        G[i] = g0 + (G[i] - g0) * wt[i];
                        B[i] = b0 + (B[i] - b0) * wt[i];
                    }}
                }}
                if (stream) {{
#pragma omp simd
                    for (long i = 0; i < n; ++i) {{
                        O[3 * i] = R[i]; O[3 * i + 1] = G[i]; O[3 * i + 2] = B[i];
                    }}
                    k_stream_out(d, O, 3 * n);
                }} else {{
#pragma omp simd
                    for (long i = 0; i < n; ++i) {{
                        d[3 * i] = R[i]; d[3 * i + 1] = G[i]; d[3 * i + 2] = B[i];
                    }}
                }}
            }}
        }}
#if defined(__SSE2__)
        _mm_sfence();  // streaming stores are weakly ordered: drain them before the threads join
#endif
    }}
}}
"""

# The 8-bit forms of the host loop: a chunk is read as codes (through the file's transfer curve
# and matrix into the working space) and/or written as dithered codes (matrix, clip, output
# table), with the ends of kernels/cuda/u8_ends_cpu.h. Codes to codes, a recipe of per-pixel
# stages turns an 8-bit image into an 8-bit image in one pass without a float image in memory
# (render_u8); codes to floats and floats to codes are the two ends of a streamed job's band,
# fused with the stages next to them. IN_U8 / OUT_U8 say which side is codes (the other is the
# working space as interleaved floats; strides in elements of each side's type). src and dst
# may be the same buffer; (x0, y0) is the image position of src's first pixel. lin: 256 floats;
# m_in, m_out: row-major 3x3; lut: lut_size int32 codes in 8.8 fixed point; noise: noise_rows
# rows of w x 3 dither values in 1/256 steps (image row y uses row y % noise_rows); SWAP: BGR
# codes.
CPU_TEMPLATE_U8 = """\
{includes}
#include <type_traits>

#include "u8_ends_cpu.h"

template <bool SWAP, bool IN_U8, bool OUT_U8>
static void fused_u8_t(const void* src, void* dst, long h, long w,
                       long src_stride, long dst_stride, long x0, long y0,
                       const float* __restrict params, const long* __restrict offsets,
                       const float* __restrict lin, const float* __restrict m_in,
                       const float* __restrict m_out, const int32_t* __restrict lut,
                       long lut_size, const uint16_t* __restrict noise, long noise_rows) {{
#pragma omp parallel
    {{
        alignas(64) float R[K_CHUNK];
        alignas(64) float G[K_CHUNK];
        alignas(64) float B[K_CHUNK];
        alignas(64) int32_t Q[3 * K_CHUNK];
        // The decode end's table, in its lookup form only where this form reads codes.
        const k_codes_table<std::conditional_t<IN_U8, unsigned char, float>> codes(lin);
{param_ptrs}
#pragma omp for schedule(static)
        for (long y = 0; y < h; ++y) {{
            const float fy = (float)(y + y0);
            const uint16_t* nrow = noise + ((y + y0) % noise_rows) * 3 * w;
            for (long c0 = 0; c0 < w; c0 += K_CHUNK) {{
                const long n = w - c0 < K_CHUNK ? w - c0 : K_CHUNK;
                const float fx0 = (float)(c0 + x0);
                if constexpr (IN_U8) {{
                    const unsigned char* s = (const unsigned char*)src + y * src_stride + 3 * c0;
                    k_codes_to_working<unsigned char, SWAP>(s, n, codes, m_in, Q, R, G, B);
                }} else {{
                    const float* s = (const float*)src + y * src_stride + 3 * c0;
#pragma omp simd
                    for (long i = 0; i < n; ++i) {{
                        R[i] = s[3 * i]; G[i] = s[3 * i + 1]; B[i] = s[3 * i + 2];
                    }}
                }}
{calls}
                if (OUT_U8) {{
                    unsigned char* d = (unsigned char*)dst + y * dst_stride + 3 * c0;
                    k_working_to_codes<SWAP>(R, G, B, n, m_out, lut, lut_size, nrow + 3 * c0, Q, d);
                }} else {{
                    float* d = (float*)dst + y * dst_stride + 3 * c0;
#pragma omp simd
                    for (long i = 0; i < n; ++i) {{
                        d[3 * i] = R[i]; d[3 * i + 1] = G[i]; d[3 * i + 2] = B[i];
                    }}
                }}
            }}
        }}
    }}
}}

// One instantiation per library (the backend builds one per stage list and form): all six
// forms in one library took 4x as long to compile.
extern "C" void fused_u8(const void* src, void* dst, long h, long w, long src_stride,
                         long dst_stride, long x0, long y0, const float* params,
                         const long* offsets, const float* lin, const float* m_in,
                         const float* m_out, const int32_t* lut, long lut_size,
                         const uint16_t* noise, long noise_rows) {{
    fused_u8_t<{swap}, {in_u8}, {out_u8}>(src, dst, h, w, src_stride, dst_stride, x0, y0, params,
                                        offsets, lin, m_in, m_out, lut, lut_size, noise,
                                        noise_rows);
}}
"""

CPU_STAGE = """\
#pragma omp simd
                for (long i = 0; i < n; ++i) {{
                    float r = R[i], g = G[i], b = B[i];
                    {kernel}_px(r, g, b, fx0 + (float)i, fy, P{index});
                    R[i] = r; G[i] = g; B[i] = b;
                }}"""

# A stage whose source defines `<kernel>_chunk` runs its own loops over the chunk (a lookup
# GCC cannot vectorise from per-pixel code, done with host vectors between two SIMD loops).
CPU_CHUNK_STAGE = """\
                {kernel}_chunk(R, G, B, n, fx0, fy, P{index});"""

CUDA_TEMPLATE = """\
{includes}

// weight (or null): a mask's weights, weight_stride floats a row (see the host loop).
extern "C" __global__ void fused(const float* __restrict__ src, float* __restrict__ dst, int h,
                                 int w, long src_stride, long dst_stride, int x0, int y0,
                                 const float* __restrict__ params, const long* __restrict__ offsets,
                                 const float* __restrict__ weight, long weight_stride) {{
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    const float* s = src + (long)y * src_stride;
    float* d = dst + (long)y * dst_stride;
    const float fx = (float)(x + x0), fy = (float)(y + y0);
{param_ptrs}
    float r = s[3 * x], g = s[3 * x + 1], b = s[3 * x + 2];
{calls}
    if (weight) {{
        float wt = weight[(long)y * weight_stride + x];
        r = s[3 * x] + (r - s[3 * x]) * wt;
        g = s[3 * x + 1] + (g - s[3 * x + 1]) * wt;
        b = s[3 * x + 2] + (b - s[3 * x + 2]) * wt;
    }}
    d[3 * x] = r; d[3 * x + 1] = g; d[3 * x + 2] = b;
}}
"""


def has_chunk(kernel: str) -> bool:
    """Whether the kernel's source provides a host chunk function (see CPU_CHUNK_STAGE)."""
    return f"{kernel}_chunk(" in (CUDA_DIR / f"{kernel}.cu").read_text()


@dataclass(frozen=True)
class U8Form:
    """Which 8-bit form of the host loop: codes in, codes out (at least one), BGR codes."""

    codes_in: bool
    codes_out: bool
    swap: bool


def fused_source(
    kernels: Sequence[str], target: str = "cpu", chunks: bool = True, u8: U8Form | None = None
) -> str:
    """The fused kernel's source. chunks=False: every stage as a per-pixel SIMD loop, the same
    composition of device functions as the CUDA kernel (tests check both host forms). u8 (CPU
    only): that 8-bit form, `fused_u8` (CPU_TEMPLATE_U8)."""
    includes = "\n".join(
        ['#include "common.cuh"', *(f'#include "{k}.cu"' for k in dict.fromkeys(kernels))]
    )
    pad = " " * (8 if target == "cpu" else 4)
    ptrs = "\n".join(
        f"{pad}const float* __restrict P{i} = params + offsets[{i}];" for i in range(len(kernels))
    )
    if target == "cpu":
        calls = "\n".join(
            (CPU_CHUNK_STAGE if chunks and has_chunk(k) else CPU_STAGE).format(kernel=k, index=i)
            for i, k in enumerate(kernels)
        )
        if u8 is None:
            return CPU_TEMPLATE.format(includes=includes, param_ptrs=ptrs, calls=calls)
        if not (u8.codes_in or u8.codes_out):
            raise ValueError("an 8-bit form has codes on one side at least")
        flags = {
            k: "true" if v else "false"
            for k, v in (("swap", u8.swap), ("in_u8", u8.codes_in), ("out_u8", u8.codes_out))
        }
        return CPU_TEMPLATE_U8.format(includes=includes, param_ptrs=ptrs, calls=calls, **flags)
    if u8 is not None:
        raise ValueError("the 8-bit fused pass is a host loop")
    calls = "\n".join(f"{pad}{k}_px(r, g, b, fx, fy, P{i});" for i, k in enumerate(kernels))
    return CUDA_TEMPLATE.format(includes=includes, param_ptrs=ptrs, calls=calls)
