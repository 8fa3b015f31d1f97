// The 1/8-scale JPEG decoder for thumbnails, compiled after jpeg_entropy.cpp in one build,
// computing what libjpeg computes at this scale: each 8x8 block's DC coefficient alone is its
// mean, so a block is one sample, DC x quantiser / 8 + 128 (jpeg_idct_1x1, range limit and
// all); a component libjpeg scales up instead of upsampling (4:2:0 chroma) is a 2x2 IDCT of
// its block (jpeg_idct_2x2: the entropy decode reads those blocks' AC values and leaves their
// AC part, ac_2x2); then YCbCr -> BGR with libjpeg's fixed-point tables, other chroma
// replicated. A progressive file's DC scan has no AC: there the 2x2 is its DC.

#include <array>

namespace {

// libjpeg's IDCT range limit: +128, clamped, wrapping what is out of range by more than 384
// (only corrupt data gets there).
inline uint8_t range_limit(long v) {
    v &= 1023;
    return static_cast<uint8_t>(v < 128 ? v + 128 : v < 512 ? 255 : v < 896 ? 0 : v - 896);
}

inline uint8_t idct_1x1(int16_t coef, int q) { return range_limit((coef * q + 4) >> 3); }

inline uint8_t clamp255(int v) { return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v); }


// Absolute DCs (the predictors restart with each interval; as libjpeg's 16-bit coefficients)
// -> 1/8-scale component planes: a sample per block at its place in its component's block
// grid, or for a 2x2 block its 2x2 IDCT (its AC part from ac2; a DC scan's: none).
// MCU rows [row0, row1), the predictors `start` at row0's first MCU.
void to_planes(const Scan& s, const int16_t* diffs, const int32_t* ac2, long row0, long row1,
               const long* start, std::vector<uint8_t>* planes, const long* pw) {
    const Geometry& g = s.g;
    long offset[MAX_BLOCKS_PER_MCU];  // of each block of an MCU from the MCU's first sample
    for (int p = 0; p < g.nblocks; ++p) {
        const int c = g.comp_of[p];
        offset[p] = s.scale[c] * (g.by[p] * pw[c] + g.bx[p]);
    }
    long pred[3] = {start[0], start[1], start[2]};
    long since_restart = s.restart > 0 ? row0 * s.mcux % s.restart : 0;
    diffs += row0 * s.mcux * g.nblocks;
    for (long my = row0; my < row1; ++my) {
        uint8_t* row[3];
        for (int c = 0; c < 3; ++c) row[c] = planes[c].data() + my * s.comp_v[c] * s.scale[c] * pw[c];
        for (long mx = 0; mx < s.mcux; ++mx) {
            if (s.restart > 0 && since_restart == s.restart) {
                pred[0] = pred[1] = pred[2] = 0;
                since_restart = 0;
            }
            ++since_restart;
            const int32_t* a = ac2 + 4 * (my * s.mcux + mx) * g.scaled;
            for (int p = 0; p < g.nblocks; ++p) {
                const int c = g.comp_of[p];
                pred[c] += *diffs++;
                const int16_t coef = static_cast<int16_t>(pred[c] * (1L << s.al));
                uint8_t* at = row[c] + (mx * s.comp_h[c] * s.scale[c] + offset[p]);
                if (s.scale[c] == 1) {
                    at[0] = idct_1x1(coef, s.comp_q[c]);
                } else if (g.slot[p] < 0) {  // a DC scan: the DC's 2x2 is four of its 1x1
                    at[0] = at[1] = at[pw[c]] = at[pw[c] + 1] = idct_1x1(coef, s.comp_q[c]);
                } else {
                    const long dq = static_cast<long>(coef) * s.comp_q[c];
                    const int32_t* k = a + 4 * g.slot[p];
                    at[0] = range_limit((dq + k[0] + 4) >> 3);
                    at[1] = range_limit((dq + k[1] + 4) >> 3);
                    at[pw[c]] = range_limit((dq + k[2] + 4) >> 3);
                    at[pw[c] + 1] = range_limit((dq + k[3] + 4) >> 3);
                }
            }
        }
    }
}

// Each component's DC predictor at the first MCU of `row` when the scan has restart markers:
// the sum of the differences since the interval began.
void predictors(const Scan& s, const int16_t* diffs, long row, long* pred) {
    const long m = row * s.mcux;
    const long from = s.restart > 0 ? m - m % s.restart : 0;
    pred[0] = pred[1] = pred[2] = 0;
    const int16_t* d = diffs + from * s.g.nblocks;
    for (long k = from; k < m; ++k)
        for (int p = 0; p < s.g.nblocks; ++p) pred[s.g.comp_of[p]] += *d++;
}

// YCbCr planes -> BGR with libjpeg's fixed-point tables (jdcolor.c), chroma replicated;
// output rows [y0, y1).
void to_bgr(const Scan& s, const std::vector<uint8_t>* planes, const long* pw, long y0, long y1,
            uint8_t* out, long out_row) {
    int cr_r[256], cb_b[256], cr_g[256], cb_g[256];
    for (int i = 0; i < 256; ++i) {
        const long x = i - 128;
        cr_r[i] = static_cast<int>((91881L * x + 32768) >> 16);   // FIX(1.40200)
        cb_b[i] = static_cast<int>((116130L * x + 32768) >> 16);  // FIX(1.77200)
        cr_g[i] = static_cast<int>(-46802L * x);                  // -FIX(0.71414)
        cb_g[i] = static_cast<int>(-22554L * x + 32768);          // -FIX(0.34414), + ONE_HALF
    }
    const long ow = (s.width + 7) / 8, oh = (s.height + 7) / 8;
    std::vector<int32_t> col[3];  // the plane column of each output column
    for (int c = 0; c < 3; ++c) {
        col[c].resize(ow);
        for (long x = 0; x < ow; ++x)
            col[c][x] = static_cast<int32_t>(x * s.comp_h[c] * s.scale[c] / s.hmax);
    }
    auto plane_row = [&](int c, long y) {
        return planes[c].data() + (y * s.comp_v[c] * s.scale[c] / s.vmax) * pw[c];
    };
    for (long y = y0; y < y1 && y < oh; ++y) {
        const uint8_t *yr = plane_row(0, y), *cbr = plane_row(1, y), *crr = plane_row(2, y);
        const int32_t *c0 = col[0].data(), *c1 = col[1].data(), *c2 = col[2].data();
        uint8_t* o = out + y * out_row;
        for (long x = 0; x < ow; ++x) {
            const int yy = yr[c0[x]], cb = cbr[c1[x]], cr = crr[c2[x]];
            o[3 * x + 0] = clamp255(yy + cb_b[cb]);
            o[3 * x + 1] = clamp255(yy + ((cb_g[cb] + cr_g[cr]) >> 16));
            o[3 * x + 2] = clamp255(yy + cr_r[cr]);
        }
    }
}

}  // namespace

extern "C" {

// The ceil(height / 8) x ceil(width / 8) BGR image of an open scan (a sequential scan or a
// progressive file's DC first scan), its entropy decoded on up to `threads` threads.
// stats: threads used, speculative syncs used, restart intervals, bits decoded twice.
int jpeg_scan_eighth(void* handle, int threads, uint8_t* out, long out_row, long* stats) {
    const Scan& s = *static_cast<Scan*>(handle);
    if (threads < 1 || threads > 64) return BAD_ARGS;
    std::unique_ptr<int16_t[]> diffs(new (std::nothrow) int16_t[s.total]);
    std::unique_ptr<int32_t[]> ac2(new (std::nothrow) int32_t[4 * s.mcus * s.g.scaled + 4]);
    if (!diffs || !ac2) return NO_MEMORY;
    const int status = s.entropy(threads, diffs.get(), nullptr, ac2.get(), stats);
    if (status != OK) return status;
    std::vector<uint8_t> planes[3];
    long pw[3];
    for (int c = 0; c < 3; ++c) {
        pw[c] = s.mcux * s.comp_h[c] * s.scale[c];
        planes[c].resize(pw[c] * s.mcuy * s.comp_v[c] * s.scale[c]);
    }
    // Rows split over the threads. Each starts from the predictors at its first row: without
    // restart markers, the sums of the rows before it, which thread t - 1's pass gives
    // (sums[t] of rows [row0(t - 1), row0(t))) and are added up in order.
    const int nt = static_cast<int>(s.mcuy < threads ? s.mcuy : threads);
    auto row0 = [&](int t) { return s.mcuy * t / nt; };
    std::vector<std::array<long, 3>> start(nt + 1), sums(nt + 1);
    auto run = [&](int t, int phase) {
        if (phase == 0) {
            if (s.restart > 0) {
                predictors(s, diffs.get(), row0(t), start[t].data());
            } else {  // the sums of this thread's rows, for the threads after it
                long total[3] = {0, 0, 0};
                const int16_t* d = diffs.get() + row0(t) * s.mcux * s.g.nblocks;
                for (long k = row0(t) * s.mcux; k < row0(t + 1) * s.mcux; ++k)
                    for (int p = 0; p < s.g.nblocks; ++p) total[s.g.comp_of[p]] += *d++;
                sums[t + 1] = {total[0], total[1], total[2]};
            }
        } else if (phase == 1) {
            to_planes(s, diffs.get(), ac2.get(), row0(t), row0(t + 1), start[t].data(), planes, pw);
        } else {
            const long oh = (s.height + 7) / 8;
            to_bgr(s, planes, pw, oh * t / nt, oh * (t + 1) / nt, out, out_row);
        }
    };
    for (int phase = 0; phase < 3; ++phase) {
        std::vector<std::thread> pool;
        for (int t = 1; t < nt; ++t) pool.emplace_back(run, t, phase);
        run(0, phase);
        for (auto& th : pool) th.join();
        if (phase == 0 && s.restart == 0) {
            start[0] = {0, 0, 0};
            for (int t = 1; t < nt; ++t)
                for (int c = 0; c < 3; ++c) start[t][c] = start[t - 1][c] + sums[t][c];
        }
    }
    return OK;
}

}  // extern "C"
