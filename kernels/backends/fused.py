"""Generates the fused per-pixel kernel for a chain of stages: one pass over memory, each stage's
`__device__` function called in order on the pixel held in registers. The same generator writes
the OpenMP loop for the CPU and the `__global__` kernel for CUDA."""

from __future__ import annotations

from collections.abc import Sequence

CPU_TEMPLATE = """\
{includes}

// src and dst may be the same buffer (in-place passes): each pixel is read before it is written.
extern "C" void fused(const float* src, float* dst, long h, long w,
                      long src_stride, long dst_stride, long x0, long y0,
                      const float* __restrict params, const long* __restrict offsets) {{
#pragma omp parallel for schedule(static)
    for (long y = 0; y < h; ++y) {{
        const float* s = src + y * src_stride;
        float* d = dst + y * dst_stride;
        const float fy = (float)(y + y0);
{param_ptrs}
#pragma omp simd
        for (long x = 0; x < w; ++x) {{
            float r = s[3 * x], g = s[3 * x + 1], b = s[3 * x + 2];
            const float fx = (float)(x + x0);
{calls}
            d[3 * x] = r; d[3 * x + 1] = g; d[3 * x + 2] = b;
        }}
    }}
}}
"""

CUDA_TEMPLATE = """\
{includes}

extern "C" __global__ void fused(const float* __restrict__ src, float* __restrict__ dst, int h,
                                 int w, long src_stride, long dst_stride, int x0, int y0,
                                 const float* __restrict__ params, const long* __restrict__ offsets) {{
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    const float* s = src + (long)y * src_stride;
    float* d = dst + (long)y * dst_stride;
    const float fx = (float)(x + x0), fy = (float)(y + y0);
{param_ptrs}
    float r = s[3 * x], g = s[3 * x + 1], b = s[3 * x + 2];
{calls}
    d[3 * x] = r; d[3 * x + 1] = g; d[3 * x + 2] = b;
}}
"""


def fused_source(kernels: Sequence[str], target: str = "cpu") -> str:
    includes = "\n".join(
        ['#include "common.cuh"', *(f'#include "{k}.cu"' for k in dict.fromkeys(kernels))]
    )
    pad = " " * (8 if target == "cpu" else 4)
    ptrs = "\n".join(
        f"{pad}const float* __restrict P{i} = params + offsets[{i}];" for i in range(len(kernels))
    )
    calls = "\n".join(
        f"{pad}{'    ' if target == 'cpu' else ''}{k}_px(r, g, b, fx, fy, P{i});"
        for i, k in enumerate(kernels)
    )
    template = CPU_TEMPLATE if target == "cpu" else CUDA_TEMPLATE
    return template.format(includes=includes, param_ptrs=ptrs, calls=calls)
