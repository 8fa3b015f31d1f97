// Lanczos-3 resampling along one axis: each output sample gathers `taps` inputs from its start
// index with precomputed weights (stretched when shrinking = antialiased; zero past the edge).
#include "common.cuh"

__device__ float resize_px(const float* __restrict__ line, int n, long step, int start,
                           const float* __restrict__ wts, int taps) {
    float acc = 0.0f;
    for (int t = 0; t < taps; ++t) {
        int i = start + t; i = i >= n ? n - 1 : i;
        acc += wts[t] * line[(long)i * step];
    }
    return acc;
}

#ifdef __CUDACC__
// axis 0: output rows from input rows; axis 1: output columns from input columns.
extern "C" __global__ void resize_kernel(const float* __restrict__ src, float* __restrict__ dst,
                                         int h, int w, int c, int axis, int n_out,
                                         const int* __restrict__ starts, const float* __restrict__ wts,
                                         int taps) {
    int e = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    int ow = axis == 1 ? n_out : w, oh = axis == 0 ? n_out : h;
    if (e >= ow * c || y >= oh) return;
    float v;
    if (axis == 0) v = resize_px(src + e, h, (long)w * c, starts[y], wts + (long)y * taps, taps);
    else v = resize_px(src + (long)y * w * c + e % c, w, c, starts[e / c], wts + (long)(e / c) * taps, taps);
    dst[(long)y * ow * c + e] = v;
}
#endif
