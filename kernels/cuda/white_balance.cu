// White balance: a 3x3 chromatic adaptation matrix (Bradford, computed on the host) applied in
// linear Rec.2020. P[0..8]: the matrix, row major.
#include "common.cuh"

__device__ void white_balance_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    float r2 = P[0] * r + P[1] * g + P[2] * b;
    float g2 = P[3] * r + P[4] * g + P[5] * b;
    float b2 = P[6] * r + P[7] * g + P[8] * b;
    r = r2; g = g2; b = b2;
}
PIXEL_KERNEL(white_balance_kernel, white_balance_px)
