// Separable convolution: one output sample is a gather of 2r+1 taps along a line (a row or a
// column), with mirrored borders (reflect-101, OpenCV's default). `step` is the distance between
// neighbouring samples of the line, so one function serves both passes and any channel count.
#include "common.cuh"

__device__ int k_reflect101(int i, int n) {
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
    return i;
}

__device__ float convolve_px(const float* __restrict__ line, int n, long step, int i,
                             const float* __restrict__ k, int r) {
    float acc = 0.0f;
    if (i - r >= 0 && i + r < n) {  // interior: no reflection, the common case
        const float* p = line + (long)(i - r) * step;
        for (int j = 0; j <= 2 * r; ++j) acc += k[j] * p[(long)j * step];
    } else {
        for (int j = 0; j <= 2 * r; ++j) acc += k[j] * line[(long)k_reflect101(i + j - r, n) * step];
    }
    return acc;
}

#ifdef __CUDACC__
// axis 0: along columns (vertical pass), axis 1: along rows (horizontal pass).
extern "C" __global__ void convolve_kernel(const float* __restrict__ src, float* __restrict__ dst,
                                           int h, int w, int c, int axis,
                                           const float* __restrict__ k, int r) {
    int e = blockIdx.x * blockDim.x + threadIdx.x;  // element within the row (x * c + ch)
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (e >= w * c || y >= h) return;
    long row = (long)y * w * c;
    float v = axis == 0 ? convolve_px(src + e, h, (long)w * c, y, k, r)
                        : convolve_px(src + row + e % c, w, c, e / c, k, r);
    dst[row + e] = v;
}
#endif
