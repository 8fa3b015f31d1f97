// Full-resolution apply steps of the detail operations. The edge-aware parts (guided-filter
// coefficients for texture/clarity, the dehaze transmission) are computed on a small grid
// over the whole image; here each output pixel samples that grid bilinearly, so the apply is
// per pixel and needs no halo when the image is processed in bands.
#include "common.cuh"

// Bilinear sample of a gh x gw grid at full-resolution pixel (x, y); grid cell i is centred on
// full-resolution coordinate (i + 0.5) * scale - 0.5 (what a Lanczos shrink by `scale` gives).
__device__ float grid_sample(const float* __restrict__ grid, int gh, int gw, float sx, float sy, float x, float y) {
    float gx = k_clamp((x + 0.5f) / sx - 0.5f, 0.0f, (float)(gw - 1));
    float gy = k_clamp((y + 0.5f) / sy - 0.5f, 0.0f, (float)(gh - 1));
    int ix = k_floor_int(gx), iy = k_floor_int(gy);
    ix = ix > gw - 2 ? (gw > 1 ? gw - 2 : 0) : ix;
    iy = iy > gh - 2 ? (gh > 1 ? gh - 2 : 0) : iy;
    float fx = gx - (float)ix, fy = gy - (float)iy;
    int ix1 = gw > 1 ? ix + 1 : ix, iy1 = gh > 1 ? iy + 1 : iy;
    float a = grid[(long)iy * gw + ix], b = grid[(long)iy * gw + ix1];
    float c = grid[(long)iy1 * gw + ix], d = grid[(long)iy1 * gw + ix1];
    float top = a + (b - a) * fx, bot = c + (d - c) * fx;
    return top + (bot - top) * fy;
}

// Local contrast on log2 luminance: base = A * l + B (guided filter), l' = l + k (l - base).
// G: grid A then grid B; P: gh, gw, scale x, scale y, k.
__device__ void local_contrast_px(float& r, float& g, float& b, float x, float y,
                                  const float* __restrict__ G, const float* __restrict__ P) {
    float Y = k_luma(r, g, b);
    if (!(Y > 1e-6f)) return;
    int gh = (int)P[0], gw = (int)P[1];
    float l = k_log2(Y);
    float A = grid_sample(G, gh, gw, P[2], P[3], x, y);
    float B = grid_sample(G + (long)gh * gw, gh, gw, P[2], P[3], x, y);
    float gain = k_exp2(P[4] * (l - (A * l + B)));
    r *= gain; g *= gain; b *= gain;
}

// Dehaze by the dark-channel model: J = (I - A) / max(t, t0) + A, t from the grid.
// P: gh, gw, scale x, scale y, A r, A g, A b, t0.
__device__ void dehaze_px(float& r, float& g, float& b, float x, float y,
                          const float* __restrict__ G, const float* __restrict__ P) {
    float t = k_max(grid_sample(G, (int)P[0], (int)P[1], P[2], P[3], x, y), P[7]);
    float inv = 1.0f / t;
    r = (r - P[4]) * inv + P[4];
    g = (g - P[5]) * inv + P[5];
    b = (b - P[6]) * inv + P[6];
}

// Unsharp mask on luminance, masked by edges: D = Y - blur(Y), softly thresholded by `detail`,
// weighted by the blurred-luminance gradient (masking), added equally to R, G, B.
// Yb: blurred luminance plane (h x w) and y the pixel's row in it (the image band may start
// lower, so the gradient sees real neighbours); P: k, threshold, mask low, mask high.
__device__ void sharpen_px(float& r, float& g, float& b, const float* __restrict__ Yb, int h, int w,
                           int x, int y, const float* __restrict__ P) {
    float Y = k_luma(r, g, b);
    float yb = Yb[(long)y * w + x];
    float D = Y - yb;
    float ad = k_abs(D);
    float soft = P[1] > 0.0f ? ad / (ad + P[1]) : 1.0f;
    float m = 1.0f;
    if (P[3] > 0.0f) {
        int xl = x > 0 ? x - 1 : x, xr = x < w - 1 ? x + 1 : x;
        int yu = y > 0 ? y - 1 : y, yd = y < h - 1 ? y + 1 : y;
        float gx = (Yb[(long)y * w + xr] - Yb[(long)y * w + xl]) * 0.5f;
        float gy = (Yb[(long)yd * w + x] - Yb[(long)yu * w + x]) * 0.5f;
        float grad = (gx * gx + gy * gy) / (yb * yb + 1e-4f);  // relative: the same in shadows
        m = k_smoothstep(P[2], P[3], grad);
    }
    float add = P[0] * D * soft * m;
    r += add; g += add; b += add;
}

#ifdef __CUDACC__
extern "C" __global__ void luma_plane_kernel(const float* __restrict__ img, float* __restrict__ out, long n) {
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = k_luma(img[3 * i], img[3 * i + 1], img[3 * i + 2]);
}
extern "C" __global__ void local_contrast_kernel(float* __restrict__ img, int h, int w, int y0,
                                                 const float* __restrict__ G, const float* __restrict__ P) {
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    float* q = img + ((long)y * w + x) * 3;
    local_contrast_px(q[0], q[1], q[2], (float)x, (float)(y + y0), G, P);
}
extern "C" __global__ void dehaze_kernel(float* __restrict__ img, int h, int w, int y0,
                                         const float* __restrict__ G, const float* __restrict__ P) {
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    float* q = img + ((long)y * w + x) * 3;
    dehaze_px(q[0], q[1], q[2], (float)x, (float)(y + y0), G, P);
}
extern "C" __global__ void sharpen_kernel(float* __restrict__ img, const float* __restrict__ Yb, int h,
                                          int w, int yb_offset, int yb_h, const float* __restrict__ P) {
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    float* q = img + ((long)y * w + x) * 3;
    sharpen_px(q[0], q[1], q[2], Yb, yb_h, w, x, y + yb_offset, P);
}
#endif
