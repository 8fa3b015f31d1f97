// PNG row filtering with libpng's heuristic (pngwutil.c, png_write_find_filter): each row is
// filtered all five ways and the one whose bytes, read as signed, have the smallest sum of
// absolute values wins (ties to the earlier filter: None, Sub, Up, Average, Paeth).
// Built and cached by kernels/backends/cpu_build.py; driven by kernels/io/png_parallel.py,
// one call per chunk of rows on each worker thread.
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

inline uint32_t cost(const uint8_t* v, long n) {
    uint32_t sum = 0;
    for (long i = 0; i < n; ++i) sum += v[i] < 128 ? v[i] : 256 - v[i];
    return sum;
}

inline uint8_t paeth(int a, int b, int c) {
    const int p = a + b - c;
    const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
    return static_cast<uint8_t>(pa <= pb && pa <= pc ? a : (pb <= pc ? b : c));
}

void filter_row(const uint8_t* row, const uint8_t* prior, long n, int bpp, uint8_t* out,
                uint8_t* scratch) {
    uint8_t* cand[5] = {scratch, scratch + n, scratch + 2 * n, scratch + 3 * n, scratch + 4 * n};
    std::memcpy(cand[0], row, n);
    for (long i = 0; i < n; ++i) {
        const uint8_t left = i >= bpp ? row[i - bpp] : 0;
        const uint8_t up = prior[i];
        const uint8_t corner = i >= bpp ? prior[i - bpp] : 0;
        cand[1][i] = static_cast<uint8_t>(row[i] - left);
        cand[2][i] = static_cast<uint8_t>(row[i] - up);
        cand[3][i] = static_cast<uint8_t>(row[i] - ((left + up) >> 1));
        cand[4][i] = static_cast<uint8_t>(row[i] - paeth(left, up, corner));
    }
    int best = 0;
    uint32_t least = cost(cand[0], n);
    for (int f = 1; f < 5; ++f) {
        const uint32_t c = cost(cand[f], n);
        if (c < least) {
            least = c;
            best = f;
        }
    }
    out[0] = static_cast<uint8_t>(best);
    std::memcpy(out + 1, cand[best], n);
}

}  // namespace

extern "C" {

// Rows [y0, y1) of an image of `row_bytes` bytes per row (rows `stride` apart, bpp bytes per
// pixel), filtered into `out`: (y1 - y0) x (1 + row_bytes) bytes, each row its filter type
// then its bytes. Row y0 - 1 is the prior row (zeros for the first row of the image).
// scratch: 6 x row_bytes bytes. Returns 0, -1 on bad arguments.
int png_filter_rows(const uint8_t* img, long stride, long row_bytes, int bpp, long y0, long y1,
                    uint8_t* out, uint8_t* scratch) {
    if (row_bytes <= 0 || bpp < 1 || bpp > 8 || y0 < 0 || y1 < y0 || stride < row_bytes)
        return -1;
    uint8_t* zeros = scratch + 5 * row_bytes;
    std::memset(zeros, 0, row_bytes);
    for (long y = y0; y < y1; ++y) {
        const uint8_t* prior = y ? img + (y - 1) * stride : zeros;
        filter_row(img + y * stride, prior, row_bytes, bpp, out + (y - y0) * (1 + row_bytes),
                   scratch);
    }
    return 0;
}

}  // extern "C"
