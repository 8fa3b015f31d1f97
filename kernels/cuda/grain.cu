// Film grain: two octaves of value noise from an integer hash of (x, y, seed), so every backend
// and every tile draws the same grain. Multiplicative in linear light.
// P: strength, cell size (px), roughness (weight of the fine octave), seed (bits of a uint32).
#include "common.cuh"

__device__ unsigned int grain_hash(unsigned int x, unsigned int y, unsigned int seed) {
    unsigned int h = x * 0x8da6b343u ^ y * 0xd8163841u ^ seed * 0xcb1ab31fu;
    h ^= h >> 16; h *= 0x7feb352du;
    h ^= h >> 15; h *= 0x846ca68bu;
    h ^= h >> 16;
    return h;
}

__device__ float grain_lattice(int ix, int iy, unsigned int seed) {
    return (float)(grain_hash((unsigned int)ix, (unsigned int)iy, seed) >> 8) * (2.0f / 16777216.0f) - 1.0f;
}

__device__ float grain_noise(float x, float y, float cell, unsigned int seed) {
    float gx = x / cell, gy = y / cell;
    int ix = k_floor_int(gx), iy = k_floor_int(gy);
    float fx = gx - (float)ix, fy = gy - (float)iy;
    fx = fx * fx * (3.0f - 2.0f * fx);
    fy = fy * fy * (3.0f - 2.0f * fy);
    float a = grain_lattice(ix, iy, seed), b = grain_lattice(ix + 1, iy, seed);
    float c = grain_lattice(ix, iy + 1, seed), d = grain_lattice(ix + 1, iy + 1, seed);
    float top = a + (b - a) * fx, bot = c + (d - c) * fx;
    return top + (bot - top) * fy;
}

__device__ void grain_px(float& r, float& g, float& b, float x, float y, const float* __restrict__ P) {
    unsigned int seed = __float_as_uint(P[3]);
    float n = (1.0f - P[2]) * grain_noise(x, y, P[1], seed) + P[2] * grain_noise(x, y, P[1] * 0.5f, seed ^ 0x9e3779b9u);
    float gain = 1.0f + P[0] * n;
    r *= gain; g *= gain; b *= gain;
}
PIXEL_KERNEL(grain_kernel, grain_px)
