// Geometry warp: flips, crop, straighten (an affine map), radial lens distortion (k1, k2) and
// lateral chromatic aberration (a scale per channel), then bicubic (Catmull-Rom) sampling per
// channel, clamped to the edge. P: a00 a01 a02 a10 a11 a12 k1 k2 ca_r ca_g ca_b cx cy R.
#include "common.cuh"

// The four Catmull-Rom weights at fractional offset t (as values: a per-pixel array stops the
// host's SIMD loops from vectorising).
__device__ void warp_cr4(float t, float& w0, float& w1, float& w2, float& w3) {
    float t2 = t * t, t3 = t2 * t;
    w0 = -0.5f * t3 + t2 - 0.5f * t;
    w1 = 1.5f * t3 - 2.5f * t2 + 1.0f;
    w2 = -1.5f * t3 + 2.0f * t2 + 0.5f * t;
    w3 = 0.5f * t3 - 0.5f * t2;
}

__device__ void warp_cr(float t, float* w) { warp_cr4(t, w[0], w[1], w[2], w[3]); }

__device__ float warp_sample(const float* __restrict__ src, int h, int w, int c, int ch, float sx, float sy) {
    sx = k_clamp(sx, 0.0f, (float)(w - 1));
    sy = k_clamp(sy, 0.0f, (float)(h - 1));
    int ix = k_floor_int(sx), iy = k_floor_int(sy);
    float wx[4], wy[4];
    warp_cr(sx - (float)ix, wx);
    warp_cr(sy - (float)iy, wy);
    float acc = 0.0f;
    K_UNROLL
    for (int j = 0; j < 4; ++j) {
        int yy = iy + j - 1; yy = yy < 0 ? 0 : (yy >= h ? h - 1 : yy);
        const float* row = src + (long)yy * w * c;
        float racc = 0.0f;
        K_UNROLL
        for (int i = 0; i < 4; ++i) {
            int xx = ix + i - 1; xx = xx < 0 ? 0 : (xx >= w ? w - 1 : xx);
            racc += wx[i] * row[(long)xx * c + ch];
        }
        acc += wy[j] * racc;
    }
    return acc;
}

// Output pixel (X, Y): its undistorted position (u, v) from the centre and the lens factor f.
__device__ void warp_undistort(float X, float Y, const float* __restrict__ P, float& u, float& v,
                               float& f) {
    u = P[0] * X + P[1] * Y + P[2];
    v = P[3] * X + P[4] * Y + P[5];
    float r2 = u * u + v * v;
    f = 1.0f + P[6] * r2 + P[7] * r2 * r2;
}

// The source position for (u, v, f) of a channel whose CA scale is ca (P[8 + channel]).
__device__ void warp_source(float u, float v, float f, const float* __restrict__ P, float ca,
                            float& sx, float& sy) {
    float s = f * ca * P[13];
    sx = P[11] + u * s;
    sy = P[12] + v * s;
}

__device__ void warp_px(const float* __restrict__ src, int h, int w, int c, float X, float Y,
                        const float* __restrict__ P, float* __restrict__ out) {
    float u, v, f;
    warp_undistort(X, Y, P, u, v, f);
    for (int ch = 0; ch < c; ++ch) {
        float sx, sy;
        warp_source(u, v, f, P, P[8 + ch], sx, sy);
        out[ch] = warp_sample(src, h, w, c, ch, sx, sy);
    }
}

#ifdef __CUDACC__
extern "C" __global__ void warp_kernel(const float* __restrict__ src, float* __restrict__ dst, int h,
                                       int w, int c, int out_h, int out_w, int y0,
                                       const float* __restrict__ P) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= out_w || y >= out_h) return;
    warp_px(src, h, w, c, (float)x, (float)(y + y0), P, dst + ((long)y * out_w + x) * c);
}
#endif
