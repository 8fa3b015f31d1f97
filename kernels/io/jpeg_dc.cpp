// A JPEG decoder for 1/8-scale images (thumbnails): entropy decoding only. Each 8x8 block's
// DC coefficient alone is its mean, so the 1/8 image is DC * quantiser / 8 + 128 per block,
// then YCbCr -> BGR with chroma replicated, as libjpeg does at this scale. The AC codes are
// skipped, never dequantised or transformed: one table lookup per code gives its length plus
// its magnitude bits and how far it moves the coefficient index.
//
// Built and cached by kernels/backends/cpu_build.py; driven by kernels/io/jpeg_dc.py, which
// parses the headers, checks what this file supports and falls back to libjpeg otherwise.
//
// Parallel decoding:
// - with restart markers, intervals are independent (DC predictors restart at zero): each
//   thread decodes a run of intervals;
// - without, speculatively: thread t > 0 starts at an arbitrary bit offset t/T of the way into
//   the data, assuming that a block (the first of an MCU) starts there, and records each block
//   start it reaches (bit position, block phase within the MCU) and the block's DC difference.
//   Huffman codes resynchronise within a few codes, and a wrong phase soon decodes a block
//   with the wrong table, loses step and resynchronises again, until position and phase are
//   both right, after which they stay right. Thread t - 1 decodes on past t's start and stops at
//   its first block start whose position and phase equal a record of thread t: the decoder's
//   state is just (position, phase), so from there thread t's records are what t - 1 would
//   have decoded. No match (not seen on photographs): t - 1 decodes to the end alone.
//   The DC differences become absolute DCs in one prefix pass over the blocks.
//
// Every read is bounds-checked: the unstuffed data is followed by PAD zero bytes, more than a
// block can consume, and positions are checked against the end after every block.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <thread>
#include <vector>

namespace {

constexpr int LOOK = 10;             // Huffman lookahead bits of the fast tables
constexpr int MAX_BLOCKS_PER_MCU = 10;
constexpr long PAD = 4096;           // > the most bits a block can use (64 codes x 31 bits)
constexpr long MAX_BLOCKS = 1L << 26;

enum Status { OK = 0, BAD_TABLE = -1, BAD_DATA = -2, TOO_LARGE = -3, BAD_ARGS = -4, NO_MEMORY = -5 };

struct Table {
    // AC: advance (code length + magnitude bits) | index step << 8 (0: end of block). DC:
    // code length | magnitude bits << 8. 0: the code is longer than LOOK bits (slow path).
    uint16_t fast[1 << LOOK];
    int32_t maxcode[17];  // largest code of each length, -1 if none
    int32_t valoff[17];   // symbol index of a code of each length, minus the code
    uint8_t vals[256];
};

inline uint16_t ac_entry(int len, int sym) {
    const int s = sym & 15, r = sym >> 4;
    // As libjpeg: a zero-magnitude symbol other than ZRL (0xF0) ends the block.
    const int step = s ? r + 1 : (r == 15 ? 16 : 0);
    return static_cast<uint16_t>((len + s) | (step << 8));
}

bool build(Table& t, const uint8_t* counts, const uint8_t* syms, bool dc) {
    int total = 0;
    for (int i = 0; i < 16; ++i) total += counts[i];
    if (total > 256) return false;
    std::memset(t.fast, 0, sizeof t.fast);
    std::memcpy(t.vals, syms, total);
    uint32_t code = 0;
    int k = 0;
    for (int len = 1; len <= 16; ++len) {
        const int n = counts[len - 1];
        t.valoff[len] = k - static_cast<int>(code);
        for (int i = 0; i < n; ++i, ++k, ++code) {
            const int sym = syms[k];
            if (dc && sym > 15) return false;  // libjpeg refuses these tables too
            if (len <= LOOK) {
                const uint16_t e = dc ? static_cast<uint16_t>(len | (sym << 8)) : ac_entry(len, sym);
                const int spread = LOOK - len;
                for (uint32_t j = 0; j < (1u << spread); ++j) t.fast[(code << spread) | j] = e;
            }
        }
        if (code > (1u << len)) return false;  // over-subscribed
        t.maxcode[len] = n ? static_cast<int>(code) - 1 : -1;
        code <<= 1;
    }
    return true;
}

// A code longer than LOOK bits at the top of `w`: its length and symbol; length 0 if no code
// of the table matches (corrupt data).
inline int slow_code(const Table& t, uint64_t w, int& sym) {
    for (int len = LOOK + 1; len <= 16; ++len) {
        const int32_t code = static_cast<int32_t>(w >> (64 - len));
        if (code <= t.maxcode[len]) {
            sym = t.vals[(t.valoff[len] + code) & 255];
            return len;
        }
    }
    return 0;
}

inline int extend(uint32_t bits, int s) {
    return bits < (1u << (s - 1)) ? static_cast<int>(bits) - (1 << s) + 1 : static_cast<int>(bits);
}

// Decode one block from bit `pos`: returns the position after it; `diff` gets its DC
// difference, `bad` is set if a code matched no table entry (libjpeg warns and substitutes a
// zero; we call the data corrupt). AC: skip the block's AC codes (a sequential scan's block);
// without, the block is a progressive DC first scan's (DC code only).
template <bool AC>
inline uint64_t block(const uint8_t* buf, uint64_t pos, const Table& dc, const Table& ac,
                      int& diff, bool& bad) {
    // A 64-bit reader with branchless refills (F. Giesen, "Reading bits in far too many
    // ways"): `w` holds the next bits MSB first, `have` of them valid (56..63 after a refill,
    // enough for any code plus its magnitude bits), `next` is the byte after them.
    const uint8_t* next = buf + (pos >> 3);
    uint64_t w = 0;
    int have = 0;
    auto refill = [&] {
        uint64_t v;
        std::memcpy(&v, next, 8);
        w |= __builtin_bswap64(v) >> have;
        next += (63 - have) >> 3;
        have |= 56;
    };
    auto consume = [&](int n) {
        w <<= n;
        have -= n;
    };
    refill();
    consume(static_cast<int>(pos & 7));
    int s;
    const uint16_t e = dc.fast[w >> (64 - LOOK)];
    int len = e & 0xFF;
    s = e >> 8;
    if (!e) {
        len = slow_code(dc, w, s);
        if (!len) {
            bad = true;
            len = 16;
            s = 0;
        }
    }
    consume(len);
    diff = 0;
    if (s) {
        diff = extend(static_cast<uint32_t>(w >> (64 - s)), s);
        consume(s);
    }
    if (AC) {
        for (int k = 1; k < 64;) {
            refill();
            const uint16_t a = ac.fast[w >> (64 - LOOK)];
            int advance = a & 0xFF, step = a >> 8;
            if (!a) {
                int sym = 0;
                const int n = slow_code(ac, w, sym);
                const uint16_t full = n ? ac_entry(n, sym) : 16;
                bad |= !n;
                advance = full & 0xFF;
                step = full >> 8;
            }
            consume(advance);
            if (!step) break;
            k += step;
        }
    }
    return static_cast<uint64_t>(next - buf) * 8 - have;
}

struct Geometry {
    int nblocks;                       // blocks per MCU
    int comp_of[MAX_BLOCKS_PER_MCU];   // component of each block of an MCU
    int bx[MAX_BLOCKS_PER_MCU], by[MAX_BLOCKS_PER_MCU];  // its offset in the MCU, in blocks
    const Table* dc[MAX_BLOCKS_PER_MCU];
    const Table* ac[MAX_BLOCKS_PER_MCU];
};

struct Record {  // a block start a speculative thread reached
    uint32_t pos;
    int16_t diff;
    uint8_t phase;
    uint8_t bad;
};

struct Speculation {
    std::unique_ptr<Record[]> records;  // uninitialised: only [0, published) is ever read
    std::atomic<long> published{0};  // records[0, published) may be read by thread t - 1
    std::atomic<bool> done{false};
    long start = 0;                  // the bit it started at
    long sync_record = -1;           // record of thread t + 1 where this one stopped
    long sync_block = -1;            // this thread's record index at that point
    uint64_t end_pos = 0;            // where its last recorded block ends
};

// Thread t - 1's side of a sync: at block start (pos, phase), does thread t have a record of
// the same? `j` walks thread t's records; waits while t has not recorded that far yet.
// Returns the record index, -1 (no record here), or -2 (thread t has stopped short of pos).
long match(Speculation& next, long& j, uint64_t pos, int phase) {
    for (;;) {
        const long avail = next.published.load(std::memory_order_acquire);
        while (j < avail && next.records[j].pos < pos) ++j;
        if (j < avail) {
            const Record& r = next.records[j];
            return (r.pos == pos && r.phase == phase) ? j : -1;
        }
        if (next.done.load(std::memory_order_acquire)) {
            if (next.published.load(std::memory_order_acquire) > avail) continue;
            return -2;
        }
        std::this_thread::yield();
    }
}

// Thread 0: decode from the start; past thread 1's start, stop at a block start thread 1
// also reached in the same phase. Writes diffs of the blocks it decodes.
template <bool AC>
long decode_head(const uint8_t* buf, uint64_t nbits, const Geometry& g, long total,
                 Speculation* next, int16_t* diffs, long& sync_record, bool& bad, uint64_t& end) {
    uint64_t pos = 0;
    long j = 0;
    bool watching = next != nullptr;
    for (long b = 0; b < total; ++b) {
        const int p = static_cast<int>(b % g.nblocks);
        if (watching && pos >= static_cast<uint64_t>(next->start)) {
            const long m = match(*next, j, pos, p);
            if (m >= 0) {
                sync_record = m;
                end = pos;
                return b;
            }
            if (m == -2) watching = false;
        }
        if (pos > nbits) {
            bad = true;
            end = pos;
            return b;
        }
        int d;
        pos = block<AC>(buf, pos, *g.dc[p], *g.ac[p], d, bad);
        diffs[b] = static_cast<int16_t>(d);
    }
    end = pos;
    return total;
}

// Thread t > 0: decode from its start, recording block starts, until it syncs with thread
// t + 1 (if any), reaches the end of the data, or has recorded more blocks than the image has.
template <bool AC>
void decode_speculative(const uint8_t* buf, uint64_t nbits, const Geometry& g, long total,
                        Speculation& self, Speculation* next) {
    uint64_t pos = static_cast<uint64_t>(self.start);
    long j = 0;
    bool watching = next != nullptr;
    int p = 0;
    for (long r = 0; r <= total && pos < nbits; ++r) {
        if (watching && pos >= static_cast<uint64_t>(next->start)) {
            const long m = match(*next, j, pos, p);
            if (m >= 0) {
                self.sync_record = m;
                self.sync_block = r;
                break;
            }
            if (m == -2) watching = false;
        }
        int d;
        bool bad = false;
        const uint64_t at = pos;
        pos = block<AC>(buf, pos, *g.dc[p], *g.ac[p], d, bad);
        self.records[r] = Record{static_cast<uint32_t>(at), static_cast<int16_t>(d),
                                 static_cast<uint8_t>(p), static_cast<uint8_t>(bad)};
        self.published.store(r + 1, std::memory_order_release);
        p = p + 1 == g.nblocks ? 0 : p + 1;
    }
    self.end_pos = pos;
    self.done.store(true, std::memory_order_release);
}

// Unstuff entropy-coded data: FF 00 -> FF, fill bytes dropped, RST markers recorded (their
// offset in the output and number), stop at any other marker. Returns the output length.
long unstuff(const uint8_t* raw, long n, uint8_t* out, std::vector<long>& rst_at,
             std::vector<int>& rst_num) {
    long i = 0, o = 0;
    while (i < n) {
        const void* hit = std::memchr(raw + i, 0xFF, n - i);
        const long j = hit ? static_cast<const uint8_t*>(hit) - raw : n;
        std::memcpy(out + o, raw + i, j - i);
        o += j - i;
        if (!hit) break;
        long k = j + 1;
        while (k < n && raw[k] == 0xFF) ++k;
        if (k >= n) break;
        const uint8_t m = raw[k];
        if (m == 0x00) {
            out[o++] = 0xFF;
        } else if (m >= 0xD0 && m <= 0xD7) {
            rst_at.push_back(o);
            rst_num.push_back(m - 0xD0);
        } else {
            break;  // EOI, or the next segment of a progressive file
        }
        i = k + 1;
    }
    return o;
}

inline uint8_t idct_1x1(long dc, int q) {
    // libjpeg's jpeg_idct_1x1: the coefficient is a JCOEF (16 bits), the result goes through
    // the IDCT range-limit table, which wraps what is out of range by more than 384.
    const int coef = static_cast<int16_t>(dc);
    const int v = ((coef * q + 4) >> 3) & 1023;
    return static_cast<uint8_t>(v < 128 ? v + 128 : v < 512 ? 255 : v < 896 ? 0 : v - 896);
}

inline uint8_t clamp255(int v) { return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v); }

// Absolute DCs (the predictors restart with each interval) -> 1/8-scale component planes,
// each block one sample at its place in its component's block grid.
void to_planes(const int16_t* diffs, const Geometry& g, long mcux, long mcuy, long restart,
               int al, const int* comp_h, const int* comp_v, const int* comp_q,
               std::vector<uint8_t>* planes, const long* pw) {
    long offset[MAX_BLOCKS_PER_MCU];  // of each block of an MCU from the MCU's first sample
    for (int p = 0; p < g.nblocks; ++p) offset[p] = g.by[p] * pw[g.comp_of[p]] + g.bx[p];
    long pred[3] = {0, 0, 0};
    long since_restart = 0;
    for (long my = 0; my < mcuy; ++my) {
        uint8_t* row[3];
        for (int c = 0; c < 3; ++c) row[c] = planes[c].data() + my * comp_v[c] * pw[c];
        for (long mx = 0; mx < mcux; ++mx) {
            if (restart > 0 && since_restart == restart) {
                pred[0] = pred[1] = pred[2] = 0;
                since_restart = 0;
            }
            ++since_restart;
            for (int p = 0; p < g.nblocks; ++p) {
                const int c = g.comp_of[p];
                pred[c] += *diffs++;
                row[c][mx * comp_h[c] + offset[p]] = idct_1x1(pred[c] * (1L << al), comp_q[c]);
            }
        }
    }
}

// YCbCr planes -> BGR with libjpeg's fixed-point tables (jdcolor.c), chroma replicated.
void to_bgr(const std::vector<uint8_t>* planes, const long* pw, const int* comp_h,
            const int* comp_v, int hmax, int vmax, long width, long height, uint8_t* out,
            long out_row) {
    int cr_r[256], cb_b[256], cr_g[256], cb_g[256];
    for (int i = 0; i < 256; ++i) {
        const long x = i - 128;
        cr_r[i] = static_cast<int>((91881L * x + 32768) >> 16);   // FIX(1.40200)
        cb_b[i] = static_cast<int>((116130L * x + 32768) >> 16);  // FIX(1.77200)
        cr_g[i] = static_cast<int>(-46802L * x);                  // -FIX(0.71414)
        cb_g[i] = static_cast<int>(-22554L * x + 32768);          // -FIX(0.34414), + ONE_HALF
    }
    const long ow = (width + 7) / 8, oh = (height + 7) / 8;
    std::vector<int32_t> col[3];  // the plane column of each output column
    for (int c = 0; c < 3; ++c) {
        col[c].resize(ow);
        for (long x = 0; x < ow; ++x) col[c][x] = static_cast<int32_t>(x * comp_h[c] / hmax);
    }
    for (long y = 0; y < oh; ++y) {
        const uint8_t* yr = planes[0].data() + (y * comp_v[0] / vmax) * pw[0];
        const uint8_t* cbr = planes[1].data() + (y * comp_v[1] / vmax) * pw[1];
        const uint8_t* crr = planes[2].data() + (y * comp_v[2] / vmax) * pw[2];
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

// Decode the first scan of a JPEG (sequential Huffman, or a progressive file's DC first scan)
// into a ceil(height/8) x ceil(width/8) BGR image.
//   scan, scan_len: the bytes after the SOS header, up to the end of the file
//   comp_h, comp_v, comp_q, comp_dc, comp_ac: per component (frame order = scan order): its
//     sampling factors, DC quantiser and Huffman table numbers (0..3)
//   dc_counts/dc_syms, ac_counts/ac_syms: 4 tables of 16 counts and 256 symbols each
//   restart: the restart interval in MCUs (0: none); dc_only, al: a progressive DC scan and
//     its successive-approximation shift; threads: how many to decode with
//   stats: [0] threads used, [1] speculative syncs found, [2] restart intervals, [3] bits
//     decoded twice (from each speculative start to where the thread before it synced)
// Returns 0, or a negative status (the caller falls back to libjpeg).
int jpeg_dc_decode(const uint8_t* scan, long scan_len, int width, int height, int ncomp,
                   const int* comp_h, const int* comp_v, const int* comp_q, const int* comp_dc,
                   const int* comp_ac, const uint8_t* dc_counts, const uint8_t* dc_syms,
                   const uint8_t* ac_counts, const uint8_t* ac_syms, int restart, int dc_only,
                   int al, int threads, uint8_t* out, long out_row, long* stats) {
    if (ncomp != 3 || width <= 0 || height <= 0 || width > 65535 || height > 65535 ||
        scan_len < 0 || threads < 1 || threads > 64 || al < 0 || al > 13 || restart < 0)
        return BAD_ARGS;
    int hmax = 1, vmax = 1;
    for (int c = 0; c < 3; ++c) {
        if (comp_h[c] < 1 || comp_h[c] > 4 || comp_v[c] < 1 || comp_v[c] > 4) return BAD_ARGS;
        if (comp_dc[c] < 0 || comp_dc[c] > 3 || comp_ac[c] < 0 || comp_ac[c] > 3) return BAD_ARGS;
        hmax = comp_h[c] > hmax ? comp_h[c] : hmax;
        vmax = comp_v[c] > vmax ? comp_v[c] : vmax;
    }
    std::vector<Table> dc_tabs(4), ac_tabs(4);
    bool used_dc[4] = {}, used_ac[4] = {};
    for (int c = 0; c < 3; ++c) {
        if (hmax % comp_h[c] || vmax % comp_v[c]) return BAD_ARGS;
        used_dc[comp_dc[c]] = true;
        used_ac[comp_ac[c]] = !dc_only;
    }
    for (int i = 0; i < 4; ++i) {
        if (used_dc[i] && !build(dc_tabs[i], dc_counts + 16 * i, dc_syms + 256 * i, true))
            return BAD_TABLE;
        if (used_ac[i] && !build(ac_tabs[i], ac_counts + 16 * i, ac_syms + 256 * i, false))
            return BAD_TABLE;
    }
    Geometry g{};
    for (int c = 0; c < 3; ++c) {
        for (int y = 0; y < comp_v[c]; ++y) {
            for (int x = 0; x < comp_h[c]; ++x) {
                if (g.nblocks == MAX_BLOCKS_PER_MCU) return BAD_ARGS;
                const int b = g.nblocks++;
                g.comp_of[b] = c;
                g.bx[b] = x;
                g.by[b] = y;
                g.dc[b] = &dc_tabs[comp_dc[c]];
                g.ac[b] = &ac_tabs[comp_ac[c]];
            }
        }
    }
    const long mcux = (width + 8L * hmax - 1) / (8L * hmax);
    const long mcuy = (height + 8L * vmax - 1) / (8L * vmax);
    const long mcus = mcux * mcuy;
    const long total = mcus * g.nblocks;
    if (total > MAX_BLOCKS) return TOO_LARGE;

    // Uninitialised: unstuff writes the data and the padding, the decode every diff.
    std::unique_ptr<uint8_t[]> buf(new (std::nothrow) uint8_t[scan_len + PAD]);
    std::unique_ptr<int16_t[]> diffs(new (std::nothrow) int16_t[total]);
    if (!buf || !diffs) return NO_MEMORY;
    std::vector<long> rst_at;
    std::vector<int> rst_num;
    const long len = unstuff(scan, scan_len, buf.get(), rst_at, rst_num);
    std::memset(buf.get() + len, 0, PAD);
    const uint64_t nbits = static_cast<uint64_t>(len) * 8;
    if (nbits >= (1ULL << 32)) return TOO_LARGE;  // records hold 32-bit positions
    const uint8_t* data = buf.get();
    auto decode_block = [&](uint64_t pos, int p, int& d, bool& bad) {
        return dc_only ? block<false>(data, pos, *g.dc[p], *g.ac[p], d, bad)
                       : block<true>(data, pos, *g.dc[p], *g.ac[p], d, bad);
    };

    long intervals = 0;
    int used_threads = 1;
    long syncs = 0, overlap = 0;
    if (restart > 0) {
        intervals = (mcus + restart - 1) / restart;
        if (static_cast<long>(rst_at.size()) != intervals - 1) return BAD_DATA;
        for (long i = 0; i + 1 < intervals; ++i)
            if (rst_num[i] != i % 8) return BAD_DATA;
        const int nt = static_cast<int>(intervals < threads ? intervals : threads);
        std::vector<char> failed(nt, 0);
        auto run = [&](int t) {
            const long first = intervals * t / nt, last = intervals * (t + 1) / nt;
            for (long i = first; i < last; ++i) {
                uint64_t pos = i ? static_cast<uint64_t>(rst_at[i - 1]) * 8 : 0;
                const uint64_t stop = i + 1 < intervals ? static_cast<uint64_t>(rst_at[i]) * 8 : nbits;
                const long b0 = i * restart * g.nblocks;
                long b1 = (i + 1) * restart * g.nblocks;
                b1 = b1 < total ? b1 : total;
                bool bad = false;
                for (long b = b0; b < b1; ++b) {
                    int d;
                    pos = decode_block(pos, static_cast<int>(b % g.nblocks), d, bad);
                    diffs[b] = static_cast<int16_t>(d);
                    if (pos > stop) bad = true;
                    if (bad) break;
                }
                if (bad) {
                    failed[t] = 1;
                    return;
                }
            }
        };
        std::vector<std::thread> pool;
        for (int t = 1; t < nt; ++t) pool.emplace_back(run, t);
        run(0);
        for (auto& th : pool) th.join();
        for (char f : failed)
            if (f) return BAD_DATA;
        used_threads = nt;
    } else {
        if (!rst_at.empty()) return BAD_DATA;
        // Speculation needs enough data per thread to pay for its start; a DC scan is tiny.
        const long per_thread_min = 1L << 19;  // bits
        int nt = threads;
        while (nt > 1 && static_cast<long>(nbits) / nt < per_thread_min) --nt;
        if (dc_only) nt = 1;
        std::vector<Speculation> spec(nt);
        for (int t = 1; t < nt; ++t) {
            spec[t].start = static_cast<long>(nbits * t / nt);
            spec[t].records.reset(new (std::nothrow) Record[total + 1]);
            if (!spec[t].records) return NO_MEMORY;
        }
        long head_blocks = 0, head_sync = -1;
        bool head_bad = false;
        uint64_t head_end = 0;
        auto run = [&](int t) {
            Speculation* next = t + 1 < nt ? &spec[t + 1] : nullptr;
            if (t == 0) {
                head_blocks =
                    dc_only ? decode_head<false>(data, nbits, g, total, next, diffs.get(),
                                                 head_sync, head_bad, head_end)
                            : decode_head<true>(data, nbits, g, total, next, diffs.get(),
                                                head_sync, head_bad, head_end);
            } else if (dc_only) {
                decode_speculative<false>(data, nbits, g, total, spec[t], next);
            } else {
                decode_speculative<true>(data, nbits, g, total, spec[t], next);
            }
        };
        std::vector<std::thread> pool;
        for (int t = 1; t < nt; ++t) pool.emplace_back(run, t);
        run(0);
        for (auto& th : pool) th.join();
        if (head_bad) return BAD_DATA;
        // Follow the chain: thread 0's blocks, then from its sync record thread 1's, ...
        long b = head_blocks;
        long from = head_sync;
        int t = 1;
        uint64_t end = head_end;
        int phase = static_cast<int>(b % g.nblocks);
        while (b < total) {
            if (from < 0 || t >= nt) return BAD_DATA;  // ran out of data before the last block
            ++syncs;
            overlap += static_cast<long>(end) - spec[t].start;  // decoded twice
            Speculation& s = spec[t];
            const long count = s.published.load();
            for (long r = from; r < count && b < total; ++r, ++b) {
                if (s.records[r].bad || s.records[r].phase != phase) return BAD_DATA;
                diffs[b] = s.records[r].diff;
                end = r + 1 < count ? s.records[r + 1].pos : s.end_pos;
                phase = phase + 1 == g.nblocks ? 0 : phase + 1;
            }
            if (b < total && s.sync_block < 0) return BAD_DATA;
            from = s.sync_record;
            ++t;
        }
        if (end > nbits) return BAD_DATA;
        used_threads = nt;
    }

    std::vector<uint8_t> planes[3];
    long pw[3];
    for (int c = 0; c < 3; ++c) {
        pw[c] = mcux * comp_h[c];
        planes[c].resize(pw[c] * mcuy * comp_v[c]);
    }
    to_planes(diffs.get(), g, mcux, mcuy, restart, al, comp_h, comp_v, comp_q, planes, pw);
    to_bgr(planes, pw, comp_h, comp_v, hmax, vmax, width, height, out, out_row);
    stats[0] = used_threads;
    stats[1] = syncs;
    stats[2] = intervals;
    stats[3] = overlap;
    return OK;
}

}  // extern "C"
