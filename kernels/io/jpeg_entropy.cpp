// Entropy decoding of a JPEG's first scan without the pixels: what the 1/8-scale thumbnail
// decoder (jpeg_dc.cpp, appended to this file in one build) and the strip-parallel full
// decode (kernels/io/jpeg_split.py) need. Built and cached by kernels/backends/cpu_build.py,
// driven by kernels/io/jpeg_scan.py, which parses and checks the headers.
//
// Huffman decoding: over unstuffed data (FF 00 -> FF, restart markers noted and removed) with
// a 64-bit reader; the AC codes are skipped, never dequantised: one table lookup per code gives
// its length plus its magnitude bits and how far it moves the coefficient index.
//
// Parallel entropy decoding:
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
//   have decoded. No match: t - 1 decodes to the end alone (correct, just not faster).
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

constexpr int LOOK = 10;  // Huffman lookahead bits of the fast tables
constexpr int MAX_BLOCKS_PER_MCU = 10;
constexpr long PAD = 4096;  // > the most bits a block can use (64 codes x 31 bits)
constexpr long MAX_BLOCKS = 1L << 26;
constexpr long MIN_BITS_PER_THREAD = 1L << 19;  // less is not worth a speculative start

enum Status {
    OK = 0,
    BAD_TABLE = -1,
    BAD_DATA = -2,
    TOO_LARGE = -3,
    BAD_ARGS = -4,
    NO_MEMORY = -5,
    NO_CODE = -6,  // a DC value the table has no code for (an optimised table)
};

struct Table {
    // AC: advance (code length + magnitude bits) | index step << 5 (0: end of block) |
    // magnitude bits << 10. DC: code length | magnitude bits << 8. 0: the code is longer
    // than LOOK bits (slow path).
    uint16_t fast[1 << LOOK];
    int32_t maxcode[17];  // largest code of each length, -1 if none
    int32_t valoff[17];   // symbol index of a code of each length, minus the code
    uint8_t vals[256];
    uint16_t code_of[16];  // DC tables: the code of each magnitude category, for re-encoding
    uint8_t size_of[16];   // and its length (0: the table has no code for it)
};

inline uint16_t ac_entry(int len, int sym) {
    const int s = sym & 15, r = sym >> 4;
    // As libjpeg: a zero-magnitude symbol other than ZRL (0xF0) ends the block.
    const int step = s ? r + 1 : (r == 15 ? 16 : 0);
    return static_cast<uint16_t>((len + s) | (step << 5) | (s << 10));
}

bool build(Table& t, const uint8_t* counts, const uint8_t* syms, bool dc) {
    int total = 0;
    for (int i = 0; i < 16; ++i) total += counts[i];
    if (total > 256) return false;
    std::memset(t.fast, 0, sizeof t.fast);
    std::memset(t.size_of, 0, sizeof t.size_of);
    std::memcpy(t.vals, syms, total);
    uint32_t code = 0;
    int k = 0;
    for (int len = 1; len <= 16; ++len) {
        const int n = counts[len - 1];
        t.valoff[len] = k - static_cast<int>(code);
        for (int i = 0; i < n; ++i, ++k, ++code) {
            const int sym = syms[k];
            if (dc && sym > 15) return false;  // libjpeg refuses these tables too
            if (dc && !t.size_of[sym]) {
                t.code_of[sym] = static_cast<uint16_t>(code);
                t.size_of[sym] = static_cast<uint8_t>(len);
            }
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

// A 64-bit reader with branchless refills (F. Giesen, "Reading bits in far too many ways"):
// `w` holds the next bits MSB first, `have` of them valid (56..63 after a refill, enough for
// any code plus its magnitude bits), `next` is the byte after them.
struct Reader {
    const uint8_t* base;
    const uint8_t* next;
    uint64_t w = 0;
    int have = 0;

    Reader(const uint8_t* buf, uint64_t pos) : base(buf), next(buf + (pos >> 3)) {
        refill();
        consume(static_cast<int>(pos & 7));
    }
    inline void refill() {
        uint64_t v;
        std::memcpy(&v, next, 8);
        w |= __builtin_bswap64(v) >> have;
        next += (63 - have) >> 3;
        have |= 56;
    }
    inline void consume(int n) {
        w <<= n;
        have -= n;
    }
    uint64_t pos() const { return static_cast<uint64_t>(next - base) * 8 - have; }
};

// A block's DC code and magnitude bits: its difference; `bad` if no code matched (libjpeg
// warns and substitutes a zero; we call the data corrupt).
inline int dc_code(Reader& r, const Table& dc, bool& bad) {
    r.refill();
    const uint16_t e = dc.fast[r.w >> (64 - LOOK)];
    int len = e & 0xFF, s = e >> 8;
    if (!e) {
        len = slow_code(dc, r.w, s);
        if (!len) {
            bad = true;
            len = 16;
            s = 0;
        }
    }
    r.consume(len);
    if (!s) return 0;
    const int diff = extend(static_cast<uint32_t>(r.w >> (64 - s)), s);
    r.consume(s);
    return diff;
}

inline void skip_ac(Reader& r, const Table& ac, bool& bad) {
    for (int k = 1; k < 64;) {
        r.refill();
        const uint16_t a = ac.fast[r.w >> (64 - LOOK)];
        int advance = a & 31, step = (a >> 5) & 31;
        if (!a) {
            int sym = 0;
            const int n = slow_code(ac, r.w, sym);
            const uint16_t full = n ? ac_entry(n, sym) : 16;
            bad |= !n;
            advance = full & 31;
            step = (full >> 5) & 31;
        }
        r.consume(advance);
        if (!step) break;
        k += step;
    }
}

// libjpeg's zigzag -> natural order, with 16 extra entries so a corrupt run past the end
// lands on the last coefficient as in libjpeg (jpeg_natural_order).
constexpr int NATURAL[80] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33,
    40, 48, 41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36,
    29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54,
    47, 55, 62, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63};

// A block's AC coefficients (after its DC code), in natural order into coef[1..63] (the
// caller zeroes coef). Codes as skip_ac reads them. Returns the OR of `wanted` over the
// natural positions written (which of the caller's coefficients are not zero).
inline uint64_t read_ac(Reader& r, const Table& ac, int16_t* coef, uint64_t wanted, bool& bad) {
    uint64_t seen = 0;
    for (int k = 1; k < 64;) {
        r.refill();
        uint16_t a = ac.fast[r.w >> (64 - LOOK)];
        if (!a) {
            int sym = 0;
            const int n = slow_code(ac, r.w, sym);
            a = n ? ac_entry(n, sym) : 16;
            bad |= !n;
        }
        const int advance = a & 31, step = (a >> 5) & 31, s = a >> 10;
        if (s) {
            const uint32_t bits = static_cast<uint32_t>((r.w << (advance - s)) >> (64 - s));
            const int at = NATURAL[k + step - 1];
            coef[at] = static_cast<int16_t>(extend(bits, s));
            seen |= wanted & (1ULL << at);
        }
        r.consume(advance);
        if (!step) break;
        k += step;
    }
    return seen;
}

inline long descale(long x, int n) { return (x + (1L << (n - 1))) >> n; }

// The AC coefficients jpeg_idct_2x2 reads (rows and columns 0, 1, 3, 5, 7), as a mask of
// natural positions.
constexpr uint64_t mask_2x2() {
    uint64_t m = 0;
    for (int row : {0, 1, 3, 5, 7})
        for (int col : {0, 1, 3, 5, 7}) m |= 1ULL << (8 * row + col);
    return m & ~1ULL;
}
constexpr uint64_t WANTED_2X2 = mask_2x2();

// jidctred.c's jpeg_idct_2x2 (CONST_BITS 13, PASS1_BITS 2) without the DC: each output is
// range_limit(((DC x q0) + a[k] + 4) >> 3), k = 2 x row + column. (The DC enters pass 1 as a
// multiple of 2^15 >> 13 = 4 DC q0 exactly, and pass 2 as DC q0 2^17; what the AC adds
// matters to the final >> 20 only down to its 2^17 part.)
inline void ac_2x2(const int16_t* coef, const int* q, int32_t* a) {
    constexpr long C7 = -5906, C5 = 6967, C3 = -10426, C1 = 29692;  // FIX_0_720959822 ...
    long ws[2][8];
    for (int col : {0, 1, 3, 5, 7}) {
        auto dq = [&](int row) { return static_cast<long>(coef[8 * row + col]) * q[8 * row + col]; };
        const long even = col ? dq(0) * (1L << 15) : 0;
        const long odd = dq(7) * C7 + dq(5) * C5 + dq(3) * C3 + dq(1) * C1;
        ws[0][col] = descale(even + odd, 13);
        ws[1][col] = descale(even - odd, 13);
    }
    for (int row = 0; row < 2; ++row) {
        const long* w = ws[row];
        const long even = w[0] * (1L << 15);
        const long odd = w[7] * C7 + w[5] * C5 + w[3] * C3 + w[1] * C1;
        a[2 * row] = static_cast<int32_t>((even + odd) >> 17);
        a[2 * row + 1] = static_cast<int32_t>((even - odd) >> 17);
    }
}

// One block from bit `pos`: the position after it. AC: a sequential scan's block (its AC
// codes skipped); without, a progressive DC first scan's (a DC code only).
template <bool AC>
inline uint64_t block(const uint8_t* buf, uint64_t pos, const Table& dc, const Table& ac,
                      int& diff, bool& bad) {
    Reader r(buf, pos);
    diff = dc_code(r, dc, bad);
    if (AC) skip_ac(r, ac, bad);
    return r.pos();
}

// A block of a component libjpeg reads with a 2x2 IDCT at 1/8 scale: its AC part (ac_2x2)
// into a[0..3].
inline uint64_t block_2x2(const uint8_t* buf, uint64_t pos, const Table& dc, const Table& ac,
                          const int* q, int& diff, int32_t* a, bool& bad) {
    Reader r(buf, pos);
    diff = dc_code(r, dc, bad);
    alignas(32) int16_t coef[64];
    std::memset(coef, 0, sizeof coef);
    if (read_ac(r, ac, coef, WANTED_2X2, bad)) {
        ac_2x2(coef, q, a);
    } else {
        a[0] = a[1] = a[2] = a[3] = 0;
    }
    return r.pos();
}

struct Geometry {
    int nblocks = 0;                      // blocks per MCU
    int comp_of[MAX_BLOCKS_PER_MCU];      // component of each block of an MCU
    int bx[MAX_BLOCKS_PER_MCU], by[MAX_BLOCKS_PER_MCU];  // its offset in the MCU, in blocks
    bool first[MAX_BLOCKS_PER_MCU];       // the first block of its component in the MCU
    const Table* dc[MAX_BLOCKS_PER_MCU];
    const Table* ac[MAX_BLOCKS_PER_MCU];
    int slot[MAX_BLOCKS_PER_MCU];         // its index among the MCU's 2x2 blocks, or -1
    const int* quant[MAX_BLOCKS_PER_MCU];  // its component's quantisers (natural order)
    int scaled = 0;                       // 2x2 blocks per MCU
};

// Decode one block at `pos` (phase p): its 2x2 AC part into a (if the block has a slot and
// `a` is given), else its AC codes skipped.
template <bool AC>
inline uint64_t any_block(const uint8_t* buf, uint64_t pos, const Geometry& g, int p, int& d,
                          int32_t* a, bool& bad) {
    if (AC && a && g.slot[p] >= 0)
        return block_2x2(buf, pos, *g.dc[p], *g.ac[p], g.quant[p], d, a, bad);
    return block<AC>(buf, pos, *g.dc[p], *g.ac[p], d, bad);
}

struct Record {  // a block start a speculative thread reached
    uint32_t pos;
    int16_t diff;
    uint8_t phase;
    uint8_t bad;
};

struct Speculation {
    std::unique_ptr<Record[]> records;  // uninitialised: only [0, published) is ever read
    std::unique_ptr<int32_t[]> ac2;     // 4 per record of a 2x2 block, if wanted
    std::atomic<long> published{0};     // records[0, published) may be read by thread t - 1
    std::atomic<bool> done{false};
    long start = 0;         // the bit it started at
    long sync_record = -1;  // record of thread t + 1 where this one stopped
    long sync_block = -1;   // this thread's record index at that point
    uint64_t end_pos = 0;   // where its last recorded block ends
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
// also reached in the same phase. Writes the diffs of the blocks it decodes.
// row_pos (optional): the bit at which every row_blocks-th block starts; ac2 (optional): the
// 2x2 blocks' AC parts, 4 per block, MCU after MCU.
template <bool AC>
long decode_head(const uint8_t* buf, uint64_t nbits, const Geometry& g, long total,
                 Speculation* next, int16_t* diffs, long& sync_record, bool& bad, uint64_t& end,
                 uint64_t* row_pos, long row_blocks, int32_t* ac2) {
    uint64_t pos = 0;
    long j = 0;
    bool watching = next != nullptr;
    int p = 0;
    long to_row = 0, row = 0, mcu = 0;
    for (long b = 0; b < total; ++b) {
        if (row_pos && to_row-- == 0) {
            row_pos[row++] = pos;
            to_row = row_blocks - 1;
        }
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
        int32_t* a = ac2 && g.slot[p] >= 0 ? ac2 + 4 * (mcu * g.scaled + g.slot[p]) : nullptr;
        pos = any_block<AC>(buf, pos, g, p, d, a, bad);
        diffs[b] = static_cast<int16_t>(d);
        if (++p == g.nblocks) {
            p = 0;
            ++mcu;
        }
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
        int32_t* a = self.ac2 ? self.ac2.get() + 4 * r : nullptr;
        pos = any_block<AC>(buf, pos, g, p, d, a, bad);
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

// Bits out, MSB first, with FF bytes stuffed (FF 00): the writer of rebuilt strips.
struct Writer {
    uint8_t* out;
    long o = 0;
    uint64_t acc = 0;  // the low n bits are pending
    int n = 0;

    explicit Writer(uint8_t* dst) : out(dst) {}
    inline void byte(uint8_t b) {
        out[o++] = b;
        if (b == 0xFF) out[o++] = 0;
    }
    void bytes(const uint8_t* src, long len) {  // whole bytes, the writer byte-aligned
        while (len > 0) {
            const void* hit = std::memchr(src, 0xFF, len);
            const long run = hit ? static_cast<const uint8_t*>(hit) - src + 1 : len;
            std::memcpy(out + o, src, run);
            o += run;
            if (hit) out[o++] = 0;
            src += run;
            len -= run;
        }
    }
    inline void put(uint32_t v, int k) {  // k <= 32
        if (!k) return;
        acc = (acc << k) | (v & (k == 32 ? 0xFFFFFFFFu : (1u << k) - 1));
        n += k;
        if (n >= 32) {
            n -= 32;
            const uint32_t word = static_cast<uint32_t>(acc >> n);
            const uint32_t inv = ~word;
            if ((inv - 0x01010101u) & ~inv & 0x80808080u) {  // an FF byte: stuff it
                for (int s = 24; s >= 0; s -= 8) byte(static_cast<uint8_t>(word >> s));
            } else {
                const uint32_t be = __builtin_bswap32(word);
                std::memcpy(out + o, &be, 4);
                o += 4;
            }
            acc &= n ? (1ULL << n) - 1 : 0;
        }
    }
    // The bits [from, to) of `buf`.
    void copy(const uint8_t* buf, uint64_t from, uint64_t to) {
        while (from + 32 <= to) {
            Reader r(buf, from);
            put(static_cast<uint32_t>(r.w >> 32), 32);
            from += 32;
        }
        if (from < to) {
            Reader r(buf, from);
            const int k = static_cast<int>(to - from);
            put(static_cast<uint32_t>(r.w >> (64 - k)), k);
        }
    }
    long finish() {  // pad the last byte with 1-bits, as encoders do before a marker
        if (n % 8) put((1u << (8 - n % 8)) - 1, 8 - n % 8);
        while (n) {
            n -= 8;
            byte(static_cast<uint8_t>(acc >> n));
        }
        return o;
    }
};

// Everything about one scan that its decoders share: checked parameters, tables, geometry
// and the unstuffed data.
struct Scan {
    int width = 0, height = 0, hmax = 1, vmax = 1;
    int comp_h[3], comp_v[3], comp_q[3];
    int quant[3][64];  // each component's quantisers, natural order
    int scale[3];      // the 1/8-scale IDCT size libjpeg picks for each component: 1 or 2
    int restart = 0, dc_only = 0, al = 0;
    Table dc_tabs[4], ac_tabs[4];
    Geometry g;
    long mcux = 0, mcuy = 0, mcus = 0, total = 0;
    std::unique_ptr<uint8_t[]> buf;
    uint64_t nbits = 0;
    std::vector<long> rst_at;
    std::vector<int> rst_num;

    // frame: width, height, h[3], v[3], DC quantiser[3], DC table[3], AC table[3], restart
    // interval, DC-only (progressive first scan), Al, then each component's 64 quantisers in
    // natural order. huff: [class][table][16 counts, 256 symbols].
    int open(const uint8_t* scan, long scan_len, const int* frame, const uint8_t* huff) {
        width = frame[0];
        height = frame[1];
        restart = frame[17];
        dc_only = frame[18];
        al = frame[19];
        if (width <= 0 || height <= 0 || width > 65535 || height > 65535 || scan_len < 0 ||
            al < 0 || al > 13 || restart < 0)
            return BAD_ARGS;
        int dct[3], act[3];
        for (int c = 0; c < 3; ++c) {
            comp_h[c] = frame[2 + c];
            comp_v[c] = frame[5 + c];
            comp_q[c] = frame[8 + c];
            dct[c] = frame[11 + c];
            act[c] = frame[14 + c];
            if (comp_h[c] < 1 || comp_h[c] > 4 || comp_v[c] < 1 || comp_v[c] > 4) return BAD_ARGS;
            if (dct[c] < 0 || dct[c] > 3 || act[c] < 0 || act[c] > 3) return BAD_ARGS;
            hmax = comp_h[c] > hmax ? comp_h[c] : hmax;
            vmax = comp_v[c] > vmax ? comp_v[c] : vmax;
        }
        for (int c = 0; c < 3; ++c) {
            for (int k = 0; k < 64; ++k) quant[c][k] = frame[20 + 64 * c + k];
            // jdmaster.c: a component's IDCT is scaled up by powers of 2 while that saves
            // upsampling in both directions (4:2:0 chroma at 1/8: a 2x2 IDCT).
            scale[c] = 1;
            while (scale[c] < 8 && hmax % (comp_h[c] * scale[c] * 2) == 0 &&
                   vmax % (comp_v[c] * scale[c] * 2) == 0)
                scale[c] *= 2;
            if (scale[c] > 2) return BAD_ARGS;
        }
        bool used_dc[4] = {}, used_ac[4] = {};
        for (int c = 0; c < 3; ++c) {
            if (hmax % comp_h[c] || vmax % comp_v[c]) return BAD_ARGS;
            used_dc[dct[c]] = true;
            used_ac[act[c]] = !dc_only;
        }
        for (int i = 0; i < 4; ++i) {
            const uint8_t* d = huff + 272 * i;
            const uint8_t* a = huff + 272 * (4 + i);
            if (used_dc[i] && !build(dc_tabs[i], d, d + 16, true)) return BAD_TABLE;
            if (used_ac[i] && !build(ac_tabs[i], a, a + 16, false)) return BAD_TABLE;
        }
        for (int c = 0; c < 3; ++c) {
            for (int y = 0; y < comp_v[c]; ++y) {
                for (int x = 0; x < comp_h[c]; ++x) {
                    if (g.nblocks == MAX_BLOCKS_PER_MCU) return BAD_ARGS;
                    const int b = g.nblocks++;
                    g.comp_of[b] = c;
                    g.bx[b] = x;
                    g.by[b] = y;
                    g.first[b] = x == 0 && y == 0;
                    g.dc[b] = &dc_tabs[dct[c]];
                    g.ac[b] = &ac_tabs[act[c]];
                    g.quant[b] = quant[c];
                    g.slot[b] = !dc_only && scale[c] == 2 ? g.scaled++ : -1;
                }
            }
        }
        mcux = (width + 8L * hmax - 1) / (8L * hmax);
        mcuy = (height + 8L * vmax - 1) / (8L * vmax);
        mcus = mcux * mcuy;
        total = mcus * g.nblocks;
        if (total > MAX_BLOCKS) return TOO_LARGE;
        buf.reset(new (std::nothrow) uint8_t[scan_len + PAD]);  // unstuff writes it all
        if (!buf) return NO_MEMORY;
        const long len = unstuff(scan, scan_len, buf.get(), rst_at, rst_num);
        std::memset(buf.get() + len, 0, PAD);
        nbits = static_cast<uint64_t>(len) * 8;
        if (nbits >= (1ULL << 32)) return TOO_LARGE;  // records hold 32-bit positions
        if (restart > 0) {
            const long intervals = (mcus + restart - 1) / restart;
            if (static_cast<long>(rst_at.size()) != intervals - 1) return BAD_DATA;
            for (long i = 0; i + 1 < intervals; ++i)
                if (rst_num[i] != i % 8) return BAD_DATA;
        } else if (!rst_at.empty()) {
            return BAD_DATA;
        }
        return OK;
    }

    uint64_t decode_block(uint64_t pos, int p, int& d, bool& bad) const {
        return dc_only ? block<false>(buf.get(), pos, *g.dc[p], *g.ac[p], d, bad)
                       : block<true>(buf.get(), pos, *g.dc[p], *g.ac[p], d, bad);
    }

    // Every block's DC difference, decoded on up to `threads` threads; row_pos (optional,
    // mcuy + 1 entries): the bit where each MCU row starts, then where the last one ends.
    // stats: threads used, speculative syncs used, restart intervals, bits decoded twice.
    // ac2 (optional, 4 x scaled blocks per MCU x MCUs): the 2x2 blocks' AC parts.
    int entropy(int threads, int16_t* diffs, uint64_t* row_pos, int32_t* ac2, long* stats) const {
        stats[0] = 1;
        stats[1] = stats[2] = stats[3] = 0;
        if (restart > 0) return by_interval(threads, diffs, ac2, stats);
        int nt = threads;
        while (nt > 1 && static_cast<long>(nbits) / nt < MIN_BITS_PER_THREAD) --nt;
        if (dc_only) nt = 1;  // a DC scan is a few bits a block: not worth the threads
        std::vector<Speculation> spec(nt);
        for (int t = 1; t < nt; ++t) {
            spec[t].start = static_cast<long>(nbits * t / nt);
            spec[t].records.reset(new (std::nothrow) Record[total + 1]);
            if (!spec[t].records) return NO_MEMORY;
            if (ac2 && g.scaled) {
                spec[t].ac2.reset(new (std::nothrow) int32_t[4 * (total + 1)]);
                if (!spec[t].ac2) return NO_MEMORY;
            }
        }
        long head_blocks = 0, head_sync = -1;
        bool head_bad = false;
        uint64_t head_end = 0;
        const uint8_t* data = buf.get();
        const long row_blocks = mcux * g.nblocks;
        auto run = [&](int t) {
            Speculation* next = t + 1 < nt ? &spec[t + 1] : nullptr;
            if (t == 0) {
                head_blocks =
                    dc_only ? decode_head<false>(data, nbits, g, total, next, diffs, head_sync,
                                                 head_bad, head_end, row_pos, row_blocks,
                                                 nullptr)
                            : decode_head<true>(data, nbits, g, total, next, diffs, head_sync,
                                                head_bad, head_end, row_pos, row_blocks, ac2);
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
        long mcu = b / g.nblocks;
        long to_row = (row_blocks - b % row_blocks) % row_blocks;  // blocks to the next row start
        while (b < total) {
            if (from < 0 || t >= nt) return BAD_DATA;  // ran out of data before the last block
            ++stats[1];
            stats[3] += static_cast<long>(end) - spec[t].start;  // decoded twice
            const Speculation& s = spec[t];
            const long count = s.published.load();
            for (long r = from; r < count && b < total; ++r, ++b) {
                if (s.records[r].bad || s.records[r].phase != phase) return BAD_DATA;
                diffs[b] = s.records[r].diff;
                if (s.ac2 && g.slot[phase] >= 0)
                    std::memcpy(ac2 + 4 * (mcu * g.scaled + g.slot[phase]), s.ac2.get() + 4 * r,
                                4 * sizeof(int32_t));
                end = r + 1 < count ? s.records[r + 1].pos : s.end_pos;
                if (++phase == g.nblocks) {
                    phase = 0;
                    ++mcu;
                }
                if (to_row-- == 0) {
                    if (row_pos) row_pos[b / row_blocks] = s.records[r].pos;
                    to_row = row_blocks - 1;
                }
            }
            if (b < total && s.sync_block < 0) return BAD_DATA;
            from = s.sync_record;
            ++t;
        }
        if (end > nbits) return BAD_DATA;
        stats[0] = nt;
        if (row_pos) row_pos[mcuy] = end;
        return OK;
    }

    int by_interval(int threads, int16_t* diffs, int32_t* ac2, long* stats) const {
        const long intervals = (mcus + restart - 1) / restart;
        const int nt = static_cast<int>(intervals < threads ? intervals : threads);
        std::vector<char> failed(nt, 0);
        auto run = [&](int t) {
            const long first = intervals * t / nt, last = intervals * (t + 1) / nt;
            for (long i = first; i < last; ++i) {
                uint64_t pos = i ? static_cast<uint64_t>(rst_at[i - 1]) * 8 : 0;
                const uint64_t stop =
                    i + 1 < intervals ? static_cast<uint64_t>(rst_at[i]) * 8 : nbits;
                const long b0 = i * restart * g.nblocks;
                long b1 = (i + 1) * restart * g.nblocks;
                b1 = b1 < total ? b1 : total;
                bool bad = false;
                int p = 0;  // intervals are whole MCUs
                long mcu = i * restart;
                for (long b = b0; b < b1 && !bad; ++b) {
                    int d;
                    int32_t* a =
                        ac2 && g.slot[p] >= 0 ? ac2 + 4 * (mcu * g.scaled + g.slot[p]) : nullptr;
                    pos = dc_only ? any_block<false>(buf.get(), pos, g, p, d, nullptr, bad)
                                  : any_block<true>(buf.get(), pos, g, p, d, a, bad);
                    diffs[b] = static_cast<int16_t>(d);
                    bad |= pos > stop;
                    if (++p == g.nblocks) {
                        p = 0;
                        ++mcu;
                    }
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
        stats[0] = nt;
        stats[2] = intervals;
        return OK;
    }

    // The byte-aligned, stuffed entropy data of MCU rows starting at bit `from` and ending at
    // bit `to`, as a scan of its own: its first MCU's DC differences re-based on `pred` (the
    // DC predictor of each component at `from`), since a scan starts from zero. Returns the
    // length written to `out` (room for 2 * (to - from) / 8 + 16 bytes), or a status.
    long rebuild(uint64_t from, uint64_t to, const int32_t* pred, uint8_t* out) const {
        if (restart > 0 || dc_only || from > to || to > nbits) return BAD_ARGS;
        Writer wr(out);
        const uint8_t* data = buf.get();
        uint64_t pos = from;
        for (int p = 0; p < g.nblocks && pos < to; ++p) {
            Reader r(data, pos);
            bool bad = false;
            const int diff = dc_code(r, *g.dc[p], bad);
            const uint64_t dc_end = r.pos();
            skip_ac(r, *g.ac[p], bad);
            if (bad) return BAD_DATA;
            if (g.first[p]) {
                const long v = diff + static_cast<long>(pred[g.comp_of[p]]);
                const long mag = v < 0 ? -v : v;
                int s = 0;
                while (s < 16 && (mag >> s)) ++s;
                const Table& t = *g.dc[p];
                if (s > 15 || !t.size_of[s]) return NO_CODE;
                wr.put(t.code_of[s], t.size_of[s]);
                wr.put(static_cast<uint32_t>(v < 0 ? v + (1L << s) - 1 : v), s);
            } else {
                wr.copy(data, pos, dc_end);
            }
            wr.copy(data, dc_end, r.pos());
            pos = r.pos();
        }
        if (pos > to) return BAD_DATA;
        wr.copy(data, pos, to);
        return wr.finish();
    }

    // Restart intervals [first, last) as a scan of their own: stuffed, with RST markers
    // numbered from 0. Room for 2 * their bytes + 16 + 2 * (last - first) in `out`.
    long intervals(long first, long last, uint8_t* out) const {
        const long count = restart > 0 ? (mcus + restart - 1) / restart : 0;
        if (first < 0 || first >= last || last > count) return BAD_ARGS;
        Writer wr(out);
        for (long i = first; i < last; ++i) {
            const long a = i ? rst_at[i - 1] : 0, b = i + 1 < count ? rst_at[i] : static_cast<long>(nbits / 8);
            wr.bytes(buf.get() + a, b - a);
            if (i + 1 < last) {
                wr.out[wr.o++] = 0xFF;
                wr.out[wr.o++] = static_cast<uint8_t>(0xD0 + (i - first) % 8);
            }
        }
        return wr.o;
    }
};

}  // namespace

extern "C" {

// A scan's decoder state for the calls below (jpeg_scan_free when done), or null with the
// reason in *status. scan: the bytes after the SOS header to the end of the file (copied).
void* jpeg_scan_open(const uint8_t* scan, long scan_len, const int* frame, const uint8_t* huff,
                     int* status) {
    auto* s = new (std::nothrow) Scan();
    if (!s) {
        *status = NO_MEMORY;
        return nullptr;
    }
    *status = s->open(scan, scan_len, frame, huff);
    if (*status != OK) {
        delete s;
        return nullptr;
    }
    return s;
}

void jpeg_scan_free(void* scan) { delete static_cast<Scan*>(scan); }

// Sequential scans without restart markers: where each MCU row starts (row_pos, mcuy + 1
// entries, the last where the scan's MCUs end) and each component's DC predictor there
// (row_pred, 3 per row), for cutting the scan into strips (jpeg_scan_rebuild).
int jpeg_scan_rows(void* handle, int threads, uint64_t* row_pos, int32_t* row_pred, long* stats) {
    const Scan& s = *static_cast<Scan*>(handle);
    if (s.restart > 0 || s.dc_only || threads < 1 || threads > 64) return BAD_ARGS;
    std::unique_ptr<int16_t[]> diffs(new (std::nothrow) int16_t[s.total]);
    if (!diffs) return NO_MEMORY;
    const int status = s.entropy(threads, diffs.get(), row_pos, nullptr, stats);
    if (status != OK) return status;
    long pred[3] = {0, 0, 0};
    const int16_t* d = diffs.get();
    for (long my = 0; my < s.mcuy; ++my) {
        for (int c = 0; c < 3; ++c) row_pred[3 * my + c] = static_cast<int32_t>(pred[c]);
        for (long k = 0; k < s.mcux; ++k)
            for (int p = 0; p < s.g.nblocks; ++p) pred[s.g.comp_of[p]] += *d++;
    }
    return OK;
}

long jpeg_scan_rebuild(void* handle, uint64_t from, uint64_t to, const int32_t* pred,
                       uint8_t* out) {
    return static_cast<Scan*>(handle)->rebuild(from, to, pred, out);
}

long jpeg_scan_intervals(void* handle, long first, long last, uint8_t* out) {
    return static_cast<Scan*>(handle)->intervals(first, last, out);
}

}  // extern "C"
