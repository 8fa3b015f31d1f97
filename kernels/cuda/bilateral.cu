// Noise reduction: a joint bilateral filter gathering a (2r+1)^2 window. Range weights come
// from luminance differences; luminance and chroma (rgb - luminance) are smoothed with their
// own range sigma (0 = leave as is). Edges are clamped.
// P: radius, 1/(2 sigma_s^2), 1/(2 sigma_luma^2), 1/(2 sigma_chroma^2) (0 when off).
#include "common.cuh"

// The range-and-space weight of one tap: exp(s - d2 k) as 2^((s - d2 k) / ln 2), s the spatial
// exponent (-(dx^2 + dy^2) / (2 sigma_s^2)), k = 1 / (2 sigma_range^2). Shared by the gather
// below and the host's taps-outer loop (kernels/backends/cpu_loops.cpp), so both sum the same
// terms in the same order.
__device__ float bilateral_weight(float s, float d2, float k) {
    return k_exp2((s - d2 * k) * 1.44269504f);
}

__device__ void bilateral_r_px(const float* __restrict__ src, int h, int w, int x, int y,
                               const float* __restrict__ P, float* __restrict__ out, int r) {
    const float* c0 = src + ((long)y * w + x) * 3;
    float y0 = k_luma(c0[0], c0[1], c0[2]);
    float al = 0.0f, wl = 0.0f, acr = 0.0f, acg = 0.0f, acb = 0.0f, wc = 0.0f;
    K_UNROLL
    for (int dy = -r; dy <= r; ++dy) {
        int yy = y + dy; yy = yy < 0 ? 0 : (yy >= h ? h - 1 : yy);
        K_UNROLL
        for (int dx = -r; dx <= r; ++dx) {
            int xx = x + dx; xx = xx < 0 ? 0 : (xx >= w ? w - 1 : xx);
            const float* q = src + ((long)yy * w + xx) * 3;
            float yn = k_luma(q[0], q[1], q[2]);
            float d2 = (yn - y0) * (yn - y0);
            float s = -(float)(dx * dx + dy * dy) * P[1];
            float wgt_l = bilateral_weight(s, d2, P[2]);
            float wgt_c = bilateral_weight(s, d2, P[3]);
            al += wgt_l * yn; wl += wgt_l;
            acr += wgt_c * (q[0] - yn); acg += wgt_c * (q[1] - yn); acb += wgt_c * (q[2] - yn);
            wc += wgt_c;
        }
    }
    float ly = P[2] > 0.0f ? al / wl : y0;
    float cr = P[3] > 0.0f ? acr / wc : c0[0] - y0;
    float cg = P[3] > 0.0f ? acg / wc : c0[1] - y0;
    float cb = P[3] > 0.0f ? acb / wc : c0[2] - y0;
    out[0] = ly + cr; out[1] = ly + cg; out[2] = ly + cb;
}

__device__ void bilateral_px(const float* __restrict__ src, int h, int w, int x, int y,
                             const float* __restrict__ P, float* __restrict__ out) {
    bilateral_r_px(src, h, w, x, y, P, out, (int)P[0]);
}

#ifdef __CUDACC__
extern "C" __global__ void bilateral_kernel(const float* __restrict__ src, float* __restrict__ dst,
                                            int h, int w, const float* __restrict__ P) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    bilateral_px(src, h, w, x, y, P, dst + ((long)y * w + x) * 3);
}
#endif
