// Exposure: a gain of 2^EV in linear light. P[0]: the gain.
#include "common.cuh"

__device__ void exposure_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    r *= P[0]; g *= P[0]; b *= P[0];
}
PIXEL_KERNEL(exposure_kernel, exposure_px)
