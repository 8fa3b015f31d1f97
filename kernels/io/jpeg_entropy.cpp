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
    // AC: advance (code length + magnitude bits) | index step << 8 (0: end of block). DC:
    // code length | magnitude bits << 8. 0: the code is longer than LOOK bits (slow path).
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
    return static_cast<uint16_t>((len + s) | (step << 8));
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
        int advance = a & 0xFF, step = a >> 8;
        if (!a) {
            int sym = 0;
            const int n = slow_code(ac, r.w, sym);
            const uint16_t full = n ? ac_entry(n, sym) : 16;
            bad |= !n;
            advance = full & 0xFF;
            step = full >> 8;
        }
        r.consume(advance);
        if (!step) break;
        k += step;
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

struct Geometry {
    int nblocks = 0;                      // blocks per MCU
    int comp_of[MAX_BLOCKS_PER_MCU];      // component of each block of an MCU
    int bx[MAX_BLOCKS_PER_MCU], by[MAX_BLOCKS_PER_MCU];  // its offset in the MCU, in blocks
    bool first[MAX_BLOCKS_PER_MCU];       // the first block of its component in the MCU
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
// row_pos (optional): the bit at which every row_blocks-th block starts.
template <bool AC>
long decode_head(const uint8_t* buf, uint64_t nbits, const Geometry& g, long total,
                 Speculation* next, int16_t* diffs, long& sync_record, bool& bad, uint64_t& end,
                 uint64_t* row_pos, long row_blocks) {
    uint64_t pos = 0;
    long j = 0;
    bool watching = next != nullptr;
    int p = 0;
    long to_row = 0, row = 0;
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
        pos = block<AC>(buf, pos, *g.dc[p], *g.ac[p], d, bad);
        diffs[b] = static_cast<int16_t>(d);
        p = p + 1 == g.nblocks ? 0 : p + 1;
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
    int restart = 0, dc_only = 0, al = 0;
    Table dc_tabs[4], ac_tabs[4];
    Geometry g;
    long mcux = 0, mcuy = 0, mcus = 0, total = 0;
    std::unique_ptr<uint8_t[]> buf;
    uint64_t nbits = 0;
    std::vector<long> rst_at;
    std::vector<int> rst_num;

    // frame: width, height, h[3], v[3], DC quantiser[3], DC table[3], AC table[3], restart
    // interval, DC-only (progressive first scan), Al. huff: [class][table][16 counts, 256
    // symbols].
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
    int entropy(int threads, int16_t* diffs, uint64_t* row_pos, long* stats) const {
        stats[0] = 1;
        stats[1] = stats[2] = stats[3] = 0;
        if (restart > 0) return by_interval(threads, diffs, stats);
        int nt = threads;
        while (nt > 1 && static_cast<long>(nbits) / nt < MIN_BITS_PER_THREAD) --nt;
        if (dc_only) nt = 1;  // a DC scan is a few bits a block: not worth the threads
        std::vector<Speculation> spec(nt);
        for (int t = 1; t < nt; ++t) {
            spec[t].start = static_cast<long>(nbits * t / nt);
            spec[t].records.reset(new (std::nothrow) Record[total + 1]);
            if (!spec[t].records) return NO_MEMORY;
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
                                                 head_bad, head_end, row_pos, row_blocks)
                            : decode_head<true>(data, nbits, g, total, next, diffs, head_sync,
                                                head_bad, head_end, row_pos, row_blocks);
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
                end = r + 1 < count ? s.records[r + 1].pos : s.end_pos;
                phase = phase + 1 == g.nblocks ? 0 : phase + 1;
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

    int by_interval(int threads, int16_t* diffs, long* stats) const {
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
                for (long b = b0; b < b1 && !bad; ++b) {
                    int d;
                    pos = decode_block(pos, p, d, bad);
                    diffs[b] = static_cast<int16_t>(d);
                    bad |= pos > stop;
                    p = p + 1 == g.nblocks ? 0 : p + 1;
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
    const int status = s.entropy(threads, diffs.get(), row_pos, stats);
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
