// Separable minimum (erosion) for the dark channel of dehaze: a gather of 2r+1 samples along a
// line, clamped to the edge.
#include "common.cuh"

__device__ float min_filter_px(const float* __restrict__ line, int n, long step, int i, int r) {
    float m = line[(long)i * step];
    int lo = i - r < 0 ? 0 : i - r;
    int hi = i + r >= n ? n - 1 : i + r;
    for (int j = lo; j <= hi; ++j) m = k_min(m, line[(long)j * step]);
    return m;
}

#ifdef __CUDACC__
extern "C" __global__ void min_filter_kernel(const float* __restrict__ src, float* __restrict__ dst,
                                             int h, int w, int axis, int r) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    dst[(long)y * w + x] = axis == 0 ? min_filter_px(src + x, h, w, y, r)
                                     : min_filter_px(src + (long)y * w, w, 1, x, r);
}
#endif
