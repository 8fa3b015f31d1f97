// 8-bit <-> linear float through tables: the decode and encode ends of a job (the transfer
// curves themselves are built on the host, so any profile's curve fits). `swap` reverses the
// channel order (BGR codecs). Encode indexes a table of n entries by round(v * (n - 1)).
#include "common.cuh"

__device__ void decode_u8_px(const unsigned char* __restrict__ s, const float* __restrict__ table,
                             int swap, float* __restrict__ d) {
    float a = table[s[0]], b = table[s[1]], c = table[s[2]];
    d[0] = swap ? c : a; d[1] = b; d[2] = swap ? a : c;
}

__device__ unsigned char encode_u8_value(float v, const unsigned char* __restrict__ table, int n) {
    int i = (int)(k_clamp(v, 0.0f, 1.0f) * (float)(n - 1) + 0.5f);
    return table[i];
}

__device__ void encode_u8_px(const float* __restrict__ s, const unsigned char* __restrict__ table,
                             int n, int swap, unsigned char* __restrict__ d) {
    unsigned char a = encode_u8_value(s[0], table, n), b = encode_u8_value(s[1], table, n);
    unsigned char c = encode_u8_value(s[2], table, n);
    d[0] = swap ? c : a; d[1] = b; d[2] = swap ? a : c;
}

#ifdef __CUDACC__
extern "C" __global__ void decode_u8_kernel(const unsigned char* __restrict__ src, float* __restrict__ dst,
                                            long n, const float* __restrict__ table, int swap) {
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) decode_u8_px(src + 3 * i, table, swap, dst + 3 * i);
}
extern "C" __global__ void encode_u8_kernel(const float* __restrict__ src, unsigned char* __restrict__ dst,
                                            long n, const unsigned char* __restrict__ table, int size, int swap) {
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) encode_u8_px(src + 3 * i, table, size, swap, dst + 3 * i);
}
#endif
