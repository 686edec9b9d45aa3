// AVX-512 + VNNI matmul for the integer weight types, every token count: decode (n = 1), batched decode and
// prefill share one kernel, so a row's result does not depend on n or on how rows are split across threads.
//
// Rows are processed in tiles of 16 (one row per dword lane) and columns in chunks of 256 (tiles_avx512.h
// unpacks a chunk of the 16 rows into "rows in lanes" form, straight from the weights as stored). Each chunk
// is then used by every token, in groups whose accumulators stay in registers:
//   integer: per sub-block, vpdpbusd of the 16 rows' unsigned codes with 4 broadcast activation bytes, 8 (or
//   4)
//            steps -> the exact sub-block dot product of each row (the -128 * sum correction of symmetric
//            types is the accumulator's start value)
//   float:   A8   acc += (dot * S) * d_x                 (- M * dsum_x for Q4_1 / Q5_1), per block
//            K8   Q4_K Q5_K Q6_K: isum += dot * sc (integer sub-block scales), per sub-block;
//                 acc += d_x * (d * isum - dmin * sum(m * bsum_x)), per super-block
//                 Q2_K Q3_K: part += dot * S (- M * bsum_x), per sub-block; acc += part * d_x, per
//                 super-block
// which is also the order of operations of every lane, whatever n is. No horizontal sums: the accumulator of
// a token is directly 16 consecutive outputs. Across chunks the accumulators go through y itself.
// One chunk is unpacked once per call however many tokens use it: weights are streamed once for small n,
// and for large n the unpacking is amortised like a GEMM's repacking.
//   n <= kFusedMax: each piece of a chunk is used by all tokens as soon as it is unpacked (no stores);
//   larger n:       two tiles (32 rows) are unpacked over all of K into a panel, then groups of kGroup tokens
//                   run over it, each broadcast activation feeding both tiles (half the loads, twice the
//                   independent dot-product chains of one tile).
#include <immintrin.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "base/error.h"
#include "kernels/simd/kernels.h"

// GCC 12 warns about the deliberately undefined inputs inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,fma,f16c,avx2,bmi,bmi2")

#include "kernels/simd/tiles_avx512.h"

namespace r1::simd::avx512 {
namespace {

constexpr int kFusedMax = 8;  // tokens per call served by the fused path
constexpr int kGroup = 6;     // tokens per register group over stored chunks

// Symmetric types: codes stored as value + 128, the -128 * sum correction starts the integer accumulator.
template <DType T>
constexpr bool kSym = T == DType::Q8_0 || T == DType::Q4_0 || T == DType::Q5_0 || T == DType::IQ4_NL;
template <DType T>
constexpr bool kSymK = T == DType::Q3_K;  // (Q6_K has its own integer-scale path)

R1_AVX512_INLINE __m512i bcast4(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

// The tile reads 16 rows side by side, which the hardware prefetchers do not follow from DRAM (without this,
// decode streams at a third of the bandwidth): a tile further on is prefetched into L2 a few lines per piece
// (one burst per chunk would stall on the full miss queue).
struct Prefetcher {
    const uint8_t* p = nullptr;
    size_t off = 0, end = 0, per_piece = 0;
    R1_AVX512_INLINE void piece() {
        for (const size_t stop = off + per_piece < end ? off + per_piece : end; off < stop; off += 64)
            _mm_prefetch(reinterpret_cast<const char*>(p + off), _MM_HINT_T1);
    }
};

// Per-token pointers into the quantised activations (layouts in kernels.h).
struct TokA8 {
    const int8_t* q;
    const float* d;
    const int32_t* nbias;
    const float* dsum;
};
struct TokK8 {
    const int8_t* q;
    const float* d;
    const int32_t* nbias16;
    const float* bsf16;
    const int16_t* bsum32;
    const int32_t* nbias16_32;
};

// The integer sums of one piece (8 zmm u per tile, H tiles) for tokens T0 .. T1: ia[h][t - T0] (set by the
// caller) adds the products with 4 broadcast activation bytes per step, steps G0 .. G1 at column offset k0.
// At most kSub tokens at a time, so the u, the sums and the callers' accumulators fit in registers.
constexpr int kSub = 4;

template <int H, int T0, int T1, int G0, int G1, typename Tok>
R1_AVX512_INLINE void piece_sums(const __m512i* const* u, const Tok* tk, int64_t k0, __m512i ia[H][kSub]) {
#pragma GCC unroll 8
    for (int g = G0; g < G1; g++) {
        __m512i uv[H];
        for (int h = 0; h < H; h++) uv[h] = u[h][g];
#pragma GCC unroll 4
        for (int t = T0; t < T1; t++) {
            const __m512i q = bcast4(tk[t].q + k0 + 4 * g);
            for (int h = 0; h < H; h++) ia[h][t - T0] = _mm512_dpbusd_epi32(ia[h][t - T0], uv[h], q);
        }
    }
}

// One 32-element block j (piece p of the chunks) into the accumulators of NT tokens:
// acc += (dot * S) * d_x (- M * dsum_x).
template <DType T, int NT, int H, int T0 = 0>
R1_AVX512_INLINE void block_a8(const __m512i* const* u, const TileChunk* const* c, int p, int64_t j,
                               const TokA8* tk, __m512 acc[H][NT]) {
    constexpr int T1 = T0 + kSub < NT ? T0 + kSub : NT;
    __m512i ia[H][kSub];
    for (int h = 0; h < H; h++)
#pragma GCC unroll 4
        for (int t = T0; t < T1; t++)
            ia[h][t - T0] = kSym<T> ? _mm512_set1_epi32(tk[t].nbias[j]) : _mm512_setzero_si512();
    piece_sums<H, T0, T1, 0, 8>(u, tk, 32 * j, ia);
    for (int h = 0; h < H; h++) {
        const __m512 S = _mm512_load_ps(c[h]->S[p]);
#pragma GCC unroll 4
        for (int t = T0; t < T1; t++)
            acc[h][t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(ia[h][t - T0]), S),
                                        _mm512_set1_ps(tk[t].d[j]), acc[h][t]);
        if constexpr (!kSym<T>) {
            const __m512 M = _mm512_load_ps(c[h]->M[p]);
#pragma GCC unroll 4
            for (int t = T0; t < T1; t++)
                acc[h][t] = _mm512_fnmadd_ps(M, _mm512_set1_ps(tk[t].dsum[j]), acc[h][t]);
        }
    }
    if constexpr (T1 < NT) block_a8<T, NT, H, T1>(u, c, p, j, tk, acc);
}

// Q4_K / Q5_K: piece p (= sub-block p, 32 columns) of super-block sb into the integer sums of NT tokens,
// isum += dot * sc (exact: |isum| < 2^26).
template <int NT, int H, int T0 = 0>
R1_AVX512_INLINE void piece_k4(const __m512i* const* u, const TileChunk* const* c, int p, int64_t sb,
                               const TokK8* tk, __m512i isum[H][NT]) {
    constexpr int T1 = T0 + kSub < NT ? T0 + kSub : NT;
    __m512i ia[H][kSub];
    for (int h = 0; h < H; h++)
#pragma GCC unroll 4
        for (int t = T0; t < T1; t++) ia[h][t - T0] = _mm512_setzero_si512();
    piece_sums<H, T0, T1, 0, 8>(u, tk, 256 * sb + 32 * p, ia);
    for (int h = 0; h < H; h++) {
        const __m512i sc = _mm512_load_si512(c[h]->isc[p]);
#pragma GCC unroll 4
        for (int t = T0; t < T1; t++)
            isum[h][t] = _mm512_add_epi32(isum[h][t], _mm512_mullo_epi32(ia[h][t - T0], sc));
    }
    if constexpr (T1 < NT) piece_k4<NT, H, T1>(u, c, p, sb, tk, isum);
}

// The accumulators of the K-quant paths live in y (16 outputs of each token, ldy apart; zero before the first
// super-block): they change once per super-block, and keeping them out of registers leaves room for the
// unpacked weights and the integer sums.
struct OutRows {
    float* y;
    int64_t ldy;
    __mmask16 mask;
    bool first;
    R1_AVX512_INLINE __m512 load(int t) const {
        return first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask, y + t * ldy);
    }
    R1_AVX512_INLINE void store(int t, __m512 v) const { _mm512_mask_storeu_ps(y + t * ldy, mask, v); }
};

// Q4_K / Q5_K at the end of super-block sb: y += d_x * (d * isum - dmin * sum_j m_j * bsum32_j).
template <int NT, int H>
R1_AVX512_INLINE void finish_k4(const TileChunk* const* c, int64_t sb, const TokK8* tk,
                                const __m512i isum[H][NT], const OutRows* out) {
    for (int h = 0; h < H; h++) {
        const __m512 d = _mm512_load_ps(c[h]->d), dmin = _mm512_load_ps(c[h]->dmin);
        for (int t = 0; t < NT; t++) {
            __m512i im = _mm512_setzero_si512();
            for (int i = 0; i < 4; i++)
                im = _mm512_dpwssd_epi32(
                    im, _mm512_load_si512(c[h]->mpair[i]),
                    bcast4(reinterpret_cast<const int8_t*>(tk[t].bsum32 + 8 * sb + 2 * i)));
            const __m512 v = _mm512_fnmadd_ps(dmin, _mm512_cvtepi32_ps(im),
                                              _mm512_mul_ps(d, _mm512_cvtepi32_ps(isum[h][t])));
            out[h].store(t, _mm512_fmadd_ps(v, _mm512_set1_ps(tk[t].d[sb]), out[h].load(t)));
        }
    }
}

// Q6_K: piece p (sub-blocks 2p, 2p + 1 of 16) of super-block sb into the integer sums of NT tokens,
// isum += dot * sc with the raw codes' -32 * sum correction (exact: |isum| < 2^28).
template <int NT, int H, int T0 = 0>
R1_AVX512_INLINE void piece_k6(const __m512i* const* u, const TileChunk* const* c, int p, int64_t sb,
                               const TokK8* tk, __m512i isum[H][NT]) {
    constexpr int T1 = T0 + kSub < NT ? T0 + kSub : NT;
    for (int half = 0; half < 2; half++) {
        const int64_t s = 16 * sb + 2 * p + half;
        __m512i ia[H][kSub];
        for (int h = 0; h < H; h++)
#pragma GCC unroll 4
            for (int t = T0; t < T1; t++) ia[h][t - T0] = _mm512_set1_epi32(tk[t].nbias16_32[s]);
        if (half == 0)
            piece_sums<H, T0, T1, 0, 4>(u, tk, 256 * sb + 32 * p, ia);
        else
            piece_sums<H, T0, T1, 4, 8>(u, tk, 256 * sb + 32 * p, ia);
        for (int h = 0; h < H; h++) {
            const __m512i sc = _mm512_load_si512(c[h]->isc[2 * p + half]);
#pragma GCC unroll 4
            for (int t = T0; t < T1; t++)
                isum[h][t] = _mm512_add_epi32(isum[h][t], _mm512_mullo_epi32(ia[h][t - T0], sc));
        }
    }
    if constexpr (T1 < NT) piece_k6<NT, H, T1>(u, c, p, sb, tk, isum);
}

// Q6_K at the end of super-block sb: y += d_x * (d * isum).
template <int NT, int H>
R1_AVX512_INLINE void finish_k6(const TileChunk* const* c, int64_t sb, const TokK8* tk,
                                const __m512i isum[H][NT], const OutRows* out) {
    for (int h = 0; h < H; h++) {
        const __m512 d = _mm512_load_ps(c[h]->d);
        for (int t = 0; t < NT; t++)
            out[h].store(t, _mm512_fmadd_ps(_mm512_mul_ps(d, _mm512_cvtepi32_ps(isum[h][t])),
                                            _mm512_set1_ps(tk[t].d[sb]), out[h].load(t)));
    }
}

// Q2_K, Q3_K: piece p (sub-blocks 2p, 2p + 1 of 16) of super-block sb into the per-super-block sums
// `part` of NT tokens: part += dot * S (- M * bsum_x).
template <DType T, int NT, int H, int T0 = 0>
R1_AVX512_INLINE void piece_k16(const __m512i* const* u, const TileChunk* const* c, int p, int64_t sb,
                                const TokK8* tk, __m512 part[H][NT]) {
    constexpr int T1 = T0 + kSub < NT ? T0 + kSub : NT;
    for (int half = 0; half < 2; half++) {
        const int64_t s = 16 * sb + 2 * p + half;
        __m512i ia[H][kSub];
        for (int h = 0; h < H; h++)
#pragma GCC unroll 4
            for (int t = T0; t < T1; t++)
                ia[h][t - T0] = kSymK<T> ? _mm512_set1_epi32(tk[t].nbias16[s]) : _mm512_setzero_si512();
        if (half == 0)
            piece_sums<H, T0, T1, 0, 4>(u, tk, 256 * sb + 32 * p, ia);
        else
            piece_sums<H, T0, T1, 4, 8>(u, tk, 256 * sb + 32 * p, ia);
        for (int h = 0; h < H; h++) {
            const __m512 S = _mm512_load_ps(c[h]->S[2 * p + half]);
#pragma GCC unroll 4
            for (int t = T0; t < T1; t++)
                part[h][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[h][t - T0]), S, part[h][t]);
            if constexpr (!kSymK<T>) {
                const __m512 M = _mm512_load_ps(c[h]->M[2 * p + half]);
#pragma GCC unroll 4
                for (int t = T0; t < T1; t++)
                    part[h][t] = _mm512_fnmadd_ps(M, _mm512_set1_ps(tk[t].bsf16[s]), part[h][t]);
            }
        }
    }
    if constexpr (T1 < NT) piece_k16<T, NT, H, T1>(u, c, p, sb, tk, part);
}

template <DType T>
constexpr bool kIsK8 = unpack_spec(T).block == 256;

template <DType T, int NT>
struct Tokens {
    std::conditional_t<kIsK8<T>, TokK8, TokA8> tk[NT];
    Tokens(const Acts& a, int64_t t0) {
        for (int t = 0; t < NT; t++) {
            const uint8_t* b = a.tok(t0 + t);
            if constexpr (kIsK8<T>) {
                const K8Layout L(a.K);
                tk[t] = {reinterpret_cast<const int8_t*>(b),
                         reinterpret_cast<const float*>(b + L.off_d),
                         reinterpret_cast<const int32_t*>(b + L.off_nbias16),
                         reinterpret_cast<const float*>(b + L.off_bsf16),
                         reinterpret_cast<const int16_t*>(b + L.off_bsum32),
                         reinterpret_cast<const int32_t*>(b + L.off_nbias16_32)};
            } else {
                const A8Layout L(a.K);
                tk[t] = {reinterpret_cast<const int8_t*>(b), reinterpret_cast<const float*>(b + L.off_d),
                         reinterpret_cast<const int32_t*>(b + L.off_nbias),
                         reinterpret_cast<const float*>(b + L.off_dsum)};
            }
        }
    }
};

inline int chunk_blocks(int64_t K, int64_t ch) {  // 32-element blocks in chunk ch (A8 types)
    const int64_t left = (K - ch * kChunkCols) / 32;
    return static_cast<int>(left < 8 ? left : 8);
}

// Chunk ch of H tiles for NT tokens, either from stored chunks (c[h]->u filled) or, with `fused` (H = 1),
// unpacking it here and using each piece at once: the same operations in the same order either way. A8
// types accumulate in `acc` (registers), K-quants in `out` (see OutRows).
template <DType T, int NT, int H, bool fused>
R1_AVX512_INLINE void chunk_into(const TileRows& R, TileChunk* const* c, int64_t ch, int nblk,
                                 const Tokens<T, NT>& tok, __m512 acc[H][NT], const OutRows* out,
                                 Prefetcher& pf) {
    static_assert(!fused || H == 1, "the fused path unpacks one tile");
    auto stored = [&](int p) {
        const __m512i* u[H];
        for (int h = 0; h < H; h++) u[h] = c[h]->u + 8 * p;
        return std::to_array(u);
    };
    if constexpr (T == DType::Q4_K || T == DType::Q5_K) {
        __m512i isum[H][NT];
        for (int h = 0; h < H; h++)
            for (int t = 0; t < NT; t++) isum[h][t] = _mm512_setzero_si512();
        if constexpr (fused) {
            build_k<T>(
                R, ch, c[0], [&](int p, const __m512i* u) __attribute__((always_inline)) {
                    pf.piece();
                    piece_k4<NT, 1>(&u, c, p, ch, tok.tk, isum);
                });
        } else {
            for (int p = 0; p < 8; p++) piece_k4<NT, H>(stored(p).data(), c, p, ch, tok.tk, isum);
        }
        finish_k4<NT, H>(c, ch, tok.tk, isum, out);
    } else if constexpr (T == DType::Q6_K) {
        __m512i isum[H][NT];
        for (int h = 0; h < H; h++)
            for (int t = 0; t < NT; t++) isum[h][t] = _mm512_setzero_si512();
        if constexpr (fused) {
            build_k<T>(
                R, ch, c[0], [&](int p, const __m512i* u) __attribute__((always_inline)) {
                    pf.piece();
                    piece_k6<NT, 1>(&u, c, p, ch, tok.tk, isum);
                });
        } else {
            for (int i = 0; i < 8; i++)
                piece_k6<NT, H>(stored(piece_at<T>(i)).data(), c, piece_at<T>(i), ch, tok.tk, isum);
        }
        finish_k6<NT, H>(c, ch, tok.tk, isum, out);
    } else if constexpr (kIsK8<T>) {
        __m512 part[H][NT];
        for (int h = 0; h < H; h++)
            for (int t = 0; t < NT; t++) part[h][t] = _mm512_setzero_ps();
        if constexpr (fused) {
            build_k<T>(
                R, ch, c[0], [&](int p, const __m512i* u) __attribute__((always_inline)) {
                    pf.piece();
                    piece_k16<T, NT, 1>(&u, c, p, ch, tok.tk, part);
                });
        } else {
            for (int i = 0; i < 8; i++)
                piece_k16<T, NT, H>(stored(piece_at<T>(i)).data(), c, piece_at<T>(i), ch, tok.tk, part);
        }
        for (int h = 0; h < H; h++)
            for (int t = 0; t < NT; t++)
                out[h].store(t, _mm512_fmadd_ps(part[h][t], _mm512_set1_ps(tok.tk[t].d[ch]), out[h].load(t)));
    } else {
        if constexpr (fused) {
            build_a8<T>(
                R, 8 * ch, nblk, c[0], [&](int p, const __m512i* u) __attribute__((always_inline)) {
                    pf.piece();
                    block_a8<T, NT, 1>(&u, c, p, 8 * ch + p, tok.tk, acc);
                });
        } else {
            for (int p = 0; p < nblk; p++)
                block_a8<T, NT, H>(stored(p).data(), c, p, 8 * ch + p, tok.tk, acc);
        }
    }
}

// All chunks of a tile for NT <= kFusedMax tokens: each chunk unpacked and used at once.
template <DType T, int NT>
__attribute__((noinline)) void tile_fused(const TileRows& R, const Acts& a, int64_t nchunks, float* y,
                                          int64_t ldy, __mmask16 mask, Prefetcher pf) {
    alignas(64) TileChunk chunk;
    TileChunk* c[1] = {&chunk};
    const Tokens<T, NT> tok(a, 0);
    __m512 acc[1][NT];
    for (int t = 0; t < NT; t++) acc[0][t] = _mm512_setzero_ps();
    for (int64_t ch = 0; ch < nchunks; ch++) {
        const OutRows out[1] = {{y, ldy, mask, ch == 0}};
        chunk_into<T, NT, 1, true>(R, c, ch, chunk_blocks(a.K, ch), tok, acc, out, pf);
    }
    if constexpr (!kIsK8<T>)
        for (int t = 0; t < NT; t++) _mm512_mask_storeu_ps(y + t * ldy, mask, acc[0][t]);
}

// All stored chunks of H tiles (panel[h * nchunks + ch]; rows 16 h of y, masks m[h]) for tokens t0 .. t0 +
// NT, the accumulators in registers (A8) or in y (K-quants) throughout.
template <DType T, int NT, int H>
__attribute__((noinline)) void group_over_panel(TileChunk* panel, int64_t nchunks, const Acts& a, int64_t t0,
                                                float* y, int64_t ldy, const __mmask16* m) {
    const Tokens<T, NT> tok(a, t0);
    __m512 acc[H][NT];
    for (int h = 0; h < H; h++)
        for (int t = 0; t < NT; t++) acc[h][t] = _mm512_setzero_ps();
    Prefetcher none;
    const TileRows unused{nullptr, 0};
    for (int64_t ch = 0; ch < nchunks; ch++) {
        TileChunk* c[H];
        OutRows out[H];
        for (int h = 0; h < H; h++) {
            c[h] = panel + h * nchunks + ch;
            out[h] = {y + t0 * ldy + 16 * h, ldy, m[h], ch == 0};
        }
        chunk_into<T, NT, H, false>(unused, c, ch, chunk_blocks(a.K, ch), tok, acc, out, none);
    }
    if constexpr (!kIsK8<T>)
        for (int h = 0; h < H; h++)
            for (int t = 0; t < NT; t++) _mm512_mask_storeu_ps(y + (t0 + t) * ldy + 16 * h, m[h], acc[h][t]);
}

template <DType T, int... Ns>
void tile_fused_n(int nt, const TileRows& R, const Acts& a, int64_t nchunks, float* y, int64_t ldy,
                  __mmask16 mask, const Prefetcher& pf) {
    ((nt == Ns ? tile_fused<T, Ns>(R, a, nchunks, y, ldy, mask, pf) : void()), ...);
}
template <DType T, int H, int... Ns>
void group_n(int nt, TileChunk* panel, int64_t nchunks, const Acts& a, int64_t t0, float* y, int64_t ldy,
             const __mmask16* m) {
    ((nt == Ns ? group_over_panel<T, Ns, H>(panel, nchunks, a, t0, y, ldy, m) : void()), ...);
}

// The rows of one tile: a view of w, or a zero-padded copy (scratch `slot`) for the last rows of the matrix
// when they do not fill a tile, and for the first and last tiles of types whose unpacking reads a few bytes
// around each block (kTileMargin): so no read goes outside the matrix. Plus the prefetcher for the rows
// `dist` tiles further on.
struct TileSetup {
    TileRows R;
    __mmask16 mask;
    Prefetcher pf;
    TileSetup(const MatRef& w, int64_t r, int64_t r1, int64_t dist, bool margin, int slot) {
        const size_t tile_bytes = kTileRows * w.row_stride;
        const int valid = r1 - r < kTileRows ? static_cast<int>(r1 - r) : kTileRows;
        const uint8_t* base = w.data + static_cast<size_t>(r) * w.row_stride;
        if (valid < kTileRows || (margin && (r == 0 || r + valid >= w.rows))) {
            uint8_t* pad = thread_scratch(slot, tile_bytes + 2 * kTileMargin);
            std::memset(pad, 0, kTileMargin);
            std::memcpy(pad + kTileMargin, base, static_cast<size_t>(valid) * w.row_stride);
            std::memset(pad + kTileMargin + valid * w.row_stride, 0,
                        static_cast<size_t>(kTileRows - valid) * w.row_stride + kTileMargin);
            base = pad + kTileMargin;
        }
        R = {base, w.row_stride};
        mask = static_cast<__mmask16>((1u << valid) - 1);
        const int64_t ahead_row = r + dist * kTileRows;
        const size_t ahead_bytes = ahead_row + kTileRows <= w.rows ? tile_bytes
                                   : ahead_row < w.rows
                                       ? static_cast<size_t>(w.rows - ahead_row) * w.row_stride
                                       : 0;
        pf = {w.data + static_cast<size_t>(ahead_row) * w.row_stride, 0, ahead_bytes,
              (tile_bytes / static_cast<size_t>(w.cols / 32) + 63) & ~size_t{63}};
    }
};

template <DType T>
void tiles(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
    const int64_t K = w.cols, nchunks = (K + kChunkCols - 1) / kChunkCols;
    // prefetch about 32 KB ahead
    const int64_t dist = static_cast<int64_t>(((size_t{32} << 10) + kTileRows * w.row_stride - 1) /
                                              (kTileRows * w.row_stride));
    if (a.n <= kFusedMax) {
        for (int64_t r = r0; r < r1; r += kTileRows) {
            const TileSetup ts(w, r, r1, dist, kNeedsMargin<T>, 1);
            tile_fused_n<T, 1, 2, 3, 4, 5, 6, 7, 8>(static_cast<int>(a.n), ts.R, a, nchunks, y + r, ldy,
                                                    ts.mask, ts.pf);
        }
        return;
    }
    // two tiles unpacked over all of K (about 2 x 16 x K bytes of codes plus scales: L2), then every group of
    // tokens runs over them
    auto* panel =
        reinterpret_cast<TileChunk*>(thread_scratch(2, 2 * static_cast<size_t>(nchunks) * sizeof(TileChunk)));
    for (int64_t r = r0; r < r1; r += 2 * kTileRows) {
        const int H = r + kTileRows < r1 ? 2 : 1;
        TileSetup ts[2] = {TileSetup(w, r, r1, dist, kNeedsMargin<T>, 1),
                           TileSetup(w, H == 2 ? r + kTileRows : r, r1, dist, kNeedsMargin<T>, 3)};
        const __mmask16 masks[2] = {ts[0].mask, ts[1].mask};
        for (int h = 0; h < H; h++)
            for (int64_t ch = 0; ch < nchunks; ch++) {
                TileChunk* c = panel + h * nchunks + ch;
                auto store = [&](int p, const __m512i* u) __attribute__((always_inline)) {
                    ts[h].pf.piece();
                    for (int g = 0; g < 8; g++) c->u[8 * p + g] = u[g];
                };
                if constexpr (kIsK8<T>)
                    build_k<T>(ts[h].R, ch, c, store);
                else
                    build_a8<T>(ts[h].R, 8 * ch, chunk_blocks(K, ch), c, store);
            }
        for (int64_t t0 = 0; t0 < a.n; t0 += kGroup) {
            const int nt = static_cast<int>(a.n - t0 < kGroup ? a.n - t0 : kGroup);
            if (H == 2)
                group_n<T, 2, 1, 2, 3, 4, 5, 6>(nt, panel, nchunks, a, t0, y + r, ldy, masks);
            else
                group_n<T, 1, 1, 2, 3, 4, 5, 6>(nt, panel, nchunks, a, t0, y + r, ldy, masks);
        }
    }
}

}  // namespace

void matmul_int(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
    switch (w.type) {
        case DType::Q8_0:
            return tiles<DType::Q8_0>(w, r0, r1, a, y, ldy);
        case DType::Q4_0:
            return tiles<DType::Q4_0>(w, r0, r1, a, y, ldy);
        case DType::Q4_1:
            return tiles<DType::Q4_1>(w, r0, r1, a, y, ldy);
        case DType::Q5_0:
            return tiles<DType::Q5_0>(w, r0, r1, a, y, ldy);
        case DType::Q5_1:
            return tiles<DType::Q5_1>(w, r0, r1, a, y, ldy);
        case DType::IQ4_NL:
            return tiles<DType::IQ4_NL>(w, r0, r1, a, y, ldy);
        case DType::Q2_K:
            return tiles<DType::Q2_K>(w, r0, r1, a, y, ldy);
        case DType::Q3_K:
            return tiles<DType::Q3_K>(w, r0, r1, a, y, ldy);
        case DType::Q4_K:
            return tiles<DType::Q4_K>(w, r0, r1, a, y, ldy);
        case DType::Q5_K:
            return tiles<DType::Q5_K>(w, r0, r1, a, y, ldy);
        case DType::Q6_K:
            return tiles<DType::Q6_K>(w, r0, r1, a, y, ldy);
        default:
            R1_ASSERT(false, "matmul_int: %s is not an integer weight type", dtype_name(w.type));
    }
}

}  // namespace r1::simd::avx512

#pragma GCC pop_options
