// Contrast, highlights, shadows, whites, blacks: a tone function of scene luminance in stops
// around middle grey (0.18), baked on the host to a gain table over luminance and applied as an
// RGB gain so hue and saturation are kept. The table is indexed by the bits of the luminance
// (k_bits_index: 128 segments per octave, so no log2 per pixel). Branch-free so the host loop
// vectorises.
// P: first luminance (a power of two), last luminance (just below a power of two), then for
// every 1/128 octave from the first: (gain, gain at the next point minus it) (k_lerp_pair).
#include "common.cuh"

__device__ void light_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    float Y = k_luma(r, g, b);
    float f;
    int i = k_bits_index(k_clamp(Y, P[0], P[1]), P[0], f);
    float gain = k_lerp_pair(P + 2, i, f);
    gain = Y > 1e-6f ? gain : 1.0f;  // black and negative luminance: no tone to move
    r *= gain; g *= gain; b *= gain;
}
PIXEL_KERNEL(light_kernel, light_px)
