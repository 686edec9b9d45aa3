// AVX-512 BF16 attention kernels for bf16 KV caches (contracts in kernels/attention.h; attention.cpp holds
// the portable versions the tests compare these against). vdpbf16ps multiplies 32 bf16 pairs into 16 f32 sums
// per instruction: twice the multiply-adds of an f32 FMA, from half the bytes.
//   scores:       as the f32 kernel (4 queries x 4 keys, 16 accumulators), 32 columns per step; the
//                 queries are bf16 too. Every tile shape reduces through the same hsum16 tree, so a score
//                 does not depend on the other queries and keys of the call.
//   weighted sum: vdpbf16ps pairs adjacent elements, so it needs two KEYS per 32-bit lane: rows j and j+1
//                 are interleaved with unpacklo/hi_epi16 (which permutes the columns within each 128-bit
//                 lane; undone once per tile) and multiplied by the pair (p_j, p_j+1) rounded to bf16.
//                 A tile is 6 queries x 64 columns over a block of keys; keys pair from the block start.
// Rounding: vdpbf16ps rounds to nearest even and flushes denormals; the weights p are rounded to bf16
// (relative error up to 2^-8), as DeepSeek's reference runs its attention in bf16.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/simd/kernels.h"

#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,fma,avx2")

#include "kernels/simd/avx512_common.h"

namespace r1::simd::avx512 {
namespace {

constexpr int64_t kKeyBlock = 64;  // keys per block (even: pairs start at even offsets from the block start)
// Queries per weighted-sum tile: 6 x 64 columns keep 24 accumulators, 4 unpacked row pairs and a broadcast
// weight in 29 of the 32 registers, and every unpacked pair of rows feeds 24 dot products instead of 16.
constexpr int64_t kSumQueries = 6;

R1_AVX512_INLINE __m512bh load_bh(const uint16_t* p, __mmask32 m) {
    return reinterpret_cast<__m512bh>(_mm512_maskz_loadu_epi16(m, p));
}

struct LoadWhole {
    R1_AVX512_INLINE __m512bh operator()(const uint16_t* p) const {
        return reinterpret_cast<__m512bh>(_mm512_loadu_si512(p));
    }
};
struct LoadMasked {
    __mmask32 m;
    R1_AVX512_INLINE __m512bh operator()(const uint16_t* p) const { return load_bh(p, m); }
};

// Software prefetch of the next key block into L2, spread over the tiles of the current one (the rows of a
// block are read as four short streams at a time, too short for the hardware prefetcher to follow).
struct Prefetch {
    const char *p = nullptr, *end = nullptr;
    int64_t per_tile = 0;
    R1_AVX512_INLINE void next() {
        for (int64_t i = 0; i < per_tile && p < end; i++, p += 64) _mm_prefetch(p, _MM_HINT_T1);
    }
};

template <int NQ, int NK>
R1_AVX512_INLINE void score_tile(const uint16_t* q, int64_t ldq, const uint16_t* k, int64_t ldk, int64_t d,
                                 float scale, float* s, int64_t lds, bool accumulate, Prefetch& pf) {
    pf.next();
    __m512 acc[NQ][NK];
    for (int a = 0; a < NQ; a++)
        for (int b = 0; b < NK; b++) acc[a][b] = _mm512_setzero_ps();
    // 32 columns: NK key loads, NQ query loads, NQ x NK dot products
    auto step = [&](int64_t i, auto load) __attribute__((always_inline)) {
        __m512bh kv[NK];
        for (int b = 0; b < NK; b++) kv[b] = load(k + b * ldk + i);
        for (int a = 0; a < NQ; a++) {
            const __m512bh qv = load(q + a * ldq + i);
            for (int b = 0; b < NK; b++) acc[a][b] = _mm512_dpbf16_ps(acc[a][b], qv, kv[b]);
        }
    };
    // Whole steps use plain loads, only the last partial step a masked one: with masked loads throughout
    // (the mask worked out every step) the kernel took 16-19 % longer on this Zen 4 (bench_attention, 16
    // heads: 4096 keys 440-445 -> 371-374 us, 512 keys 54 -> 43.6 us).
    int64_t i = 0;
    for (; i + 32 <= d; i += 32) step(i, LoadWhole{});
    if (i < d) step(i, LoadMasked{static_cast<__mmask32>((1u << (d - i)) - 1)});
    __m512 v[16];
    for (auto& x : v) x = _mm512_setzero_ps();
    for (int a = 0; a < NQ; a++)
        for (int b = 0; b < NK; b++) v[4 * a + b] = acc[a][b];
    alignas(64) float t[16];
    _mm512_store_ps(t, _mm512_mul_ps(hsum16(v), _mm512_set1_ps(scale)));
    for (int a = 0; a < NQ; a++)
        for (int b = 0; b < NK; b++)
            s[a * lds + b] = accumulate ? s[a * lds + b] + t[4 * a + b] : t[4 * a + b];
}

template <int NQ>
R1_AVX512_INLINE void score_rows(const uint16_t* q, int64_t ldq, const uint16_t* k, int64_t ldk, int64_t j0,
                                 int64_t j1, int64_t d, float scale, float* s, int64_t lds, bool accumulate,
                                 Prefetch& pf) {
    int64_t j = j0;
    for (; j + 4 <= j1; j += 4)
        score_tile<NQ, 4>(q, ldq, k + j * ldk, ldk, d, scale, s + j, lds, accumulate, pf);
    for (; j < j1; j++) score_tile<NQ, 1>(q, ldq, k + j * ldk, ldk, d, scale, s + j, lds, accumulate, pf);
}

// o[NQ rows, 32 * NC columns from 0] += sum over key pairs of (p_j, p_j+1) . (v_j, v_j+1). w holds each
// query's weights of the block as bf16 pairs (w[a * ldw + j / 2]); the rows come as pairs from v (row j at
// v + j * ldv) for j in [0, nk), a missing partner row reading as zeros. m masks the last 32 columns.
template <int NQ, int NC>
R1_AVX512_INLINE void wsum_tile(const uint32_t* w, int64_t ldw, const uint16_t* v, int64_t ldv, int64_t nk,
                                float* o, int64_t ldo, __mmask32 m, Prefetch& pf) {
    pf.next();
    __m512 lo[NQ][NC], hi[NQ][NC];  // lo: columns 8L+0..3 of each 128-bit lane L, hi: 8L+4..7
    for (int a = 0; a < NQ; a++)
        for (int c = 0; c < NC; c++) lo[a][c] = hi[a][c] = _mm512_setzero_ps();
    for (int64_t j = 0; j < nk; j += 2) {
        const uint16_t *r0 = v + j * ldv, *r1 = r0 + ldv;
        __m512bh pl[NC], ph[NC];
        for (int c = 0; c < NC; c++) {
            const __mmask32 mc = c + 1 < NC ? ~__mmask32{0} : m;
            const __m512i x = _mm512_maskz_loadu_epi16(mc, r0 + 32 * c);
            const __m512i y = j + 1 < nk ? _mm512_maskz_loadu_epi16(mc, r1 + 32 * c) : _mm512_setzero_si512();
            pl[c] = reinterpret_cast<__m512bh>(_mm512_unpacklo_epi16(x, y));
            ph[c] = reinterpret_cast<__m512bh>(_mm512_unpackhi_epi16(x, y));
        }
        for (int a = 0; a < NQ; a++) {
            const __m512bh wp =
                reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(w[a * ldw + j / 2])));
            for (int c = 0; c < NC; c++) {
                lo[a][c] = _mm512_dpbf16_ps(lo[a][c], pl[c], wp);
                hi[a][c] = _mm512_dpbf16_ps(hi[a][c], ph[c], wp);
            }
        }
    }
    for (int a = 0; a < NQ; a++)
        for (int c = 0; c < NC; c++) {
            // lanes [lo.L0 hi.L0 lo.L1 hi.L1] are columns 0..15 of the chunk, [lo.L2 hi.L2 lo.L3
            // hi.L3] 16..31
            const __m512 t0 = _mm512_shuffle_f32x4(lo[a][c], hi[a][c], _MM_SHUFFLE(1, 0, 1, 0));
            const __m512 t1 = _mm512_shuffle_f32x4(lo[a][c], hi[a][c], _MM_SHUFFLE(3, 2, 3, 2));
            const __m512 c0 = _mm512_shuffle_f32x4(t0, t0, _MM_SHUFFLE(3, 1, 2, 0));
            const __m512 c1 = _mm512_shuffle_f32x4(t1, t1, _MM_SHUFFLE(3, 1, 2, 0));
            float* oc = o + a * ldo + 32 * c;
            const __mmask32 mc = c + 1 < NC ? ~__mmask32{0} : m;
            const __mmask16 m0 = static_cast<__mmask16>(mc), m1 = static_cast<__mmask16>(mc >> 16);
            _mm512_mask_storeu_ps(oc, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, oc), c0));
            _mm512_mask_storeu_ps(oc + 16, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, oc + 16), c1));
        }
}

template <int NQ>
R1_AVX512_INLINE void wsum_rows(const uint32_t* w, int64_t ldw, const uint16_t* v, int64_t ldv, int64_t d,
                                int64_t nk, float* o, int64_t ldo, Prefetch& pf) {
    int64_t i = 0;
    for (; i + 64 <= d; i += 64) wsum_tile<NQ, 2>(w, ldw, v + i, ldv, nk, o + i, ldo, ~__mmask32{0}, pf);
    if (i == d) return;
    const int64_t rest = d - i;
    const __mmask32 m = rest % 32 == 0 ? ~__mmask32{0} : static_cast<__mmask32>((1u << (rest % 32)) - 1);
    if (rest > 32)
        wsum_tile<NQ, 2>(w, ldw, v + i, ldv, nk, o + i, ldo, m, pf);
    else
        wsum_tile<NQ, 1>(w, ldw, v + i, ldv, nk, o + i, ldo, m, pf);
}

// wsum_rows<nq> for a group of nq (one of Ns) queries.
template <int... Ns>
void wsum_rows_n(int64_t nq, const uint32_t* w, int64_t ldw, const uint16_t* v, int64_t ldv, int64_t d,
                 int64_t nk, float* o, int64_t ldo, Prefetch& pf) {
    ((nq == Ns ? wsum_rows<Ns>(w, ldw, v, ldv, d, nk, o, ldo, pf) : void()), ...);
}

}  // namespace

void attn_scores_bf16(const uint16_t* q, int64_t ldq, int64_t nq, const uint16_t* k, int64_t ldk, int64_t nk,
                      int64_t d, float scale, float* s, int64_t lds, bool accumulate) {
    const int64_t groups = (nq + 3) / 4;
    for (int64_t j0 = 0; j0 < nk; j0 += kKeyBlock) {
        const int64_t j1 = std::min(nk, j0 + kKeyBlock);
        Prefetch pf;
        if (j1 < nk && 2 * d >= ldk) {  // whole rows are read: fetch the next block's bytes
            const int64_t next = std::min(nk - j1, kKeyBlock);
            pf.p = reinterpret_cast<const char*>(k + j1 * ldk);
            pf.end = reinterpret_cast<const char*>(k + (j1 + next) * ldk);
            const int64_t tiles = groups * ((j1 - j0 + 3) / 4);
            pf.per_tile = ((pf.end - pf.p) / 64 + tiles - 1) / tiles;
        }
        int64_t t = 0;
        for (; t + 4 <= nq; t += 4)
            score_rows<4>(q + t * ldq, ldq, k, ldk, j0, j1, d, scale, s + t * lds, lds, accumulate, pf);
        switch (nq - t) {
            case 3:
                score_rows<3>(q + t * ldq, ldq, k, ldk, j0, j1, d, scale, s + t * lds, lds, accumulate, pf);
                break;
            case 2:
                score_rows<2>(q + t * ldq, ldq, k, ldk, j0, j1, d, scale, s + t * lds, lds, accumulate, pf);
                break;
            case 1:
                score_rows<1>(q + t * ldq, ldq, k, ldk, j0, j1, d, scale, s + t * lds, lds, accumulate, pf);
                break;
            default:
                break;
        }
    }
}

void attn_weighted_sum_bf16(const float* p, int64_t ldp, int64_t nq, int64_t max_len, const uint16_t* v,
                            int64_t ldv, int64_t d, float* o, int64_t ldo) {
    for (int64_t t = 0; t < nq; t++) std::fill(o + t * ldo, o + t * ldo + d, 0.0f);
    constexpr int64_t ldw = kKeyBlock / 2;
    alignas(64) uint32_t w[kSumQueries * ldw];  // a group's weights of one key block, as bf16 pairs
    for (int64_t j0 = 0; j0 < max_len; j0 += kKeyBlock) {
        const int64_t nk = std::min(max_len - j0, kKeyBlock);
        Prefetch pf;
        if (j0 + nk < max_len && 2 * d >= ldv) {
            pf.p = reinterpret_cast<const char*>(v + (j0 + nk) * ldv);
            pf.end =
                reinterpret_cast<const char*>(v + (j0 + nk + std::min(max_len - j0 - nk, kKeyBlock)) * ldv);
            const int64_t tiles = (nq + kSumQueries - 1) / kSumQueries * ((d + 63) / 64);
            pf.per_tile = ((pf.end - pf.p) / 64 + tiles - 1) / tiles;
        }
        for (int64_t t = 0; t < nq; t += kSumQueries) {
            const int64_t ng = std::min<int64_t>(kSumQueries, nq - t);  // queries in this group
            for (int64_t a = 0; a < ng; a++) {  // 32 weights -> 16 pairs (zeros past nk)
                const float* pa = p + (t + a) * ldp + j0;
                for (int64_t j = 0; j < nk; j += 32) {
                    const int64_t r = nk - j;
                    const __mmask16 m0 = r >= 16 ? 0xffff : static_cast<__mmask16>((1u << r) - 1);
                    const __mmask16 m1 = r >= 32  ? 0xffff
                                         : r > 16 ? static_cast<__mmask16>((1u << (r - 16)) - 1)
                                                  : 0;
                    const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, pa + j + 16),
                                                           _mm512_maskz_loadu_ps(m0, pa + j));
                    _mm512_store_si512(w + a * ldw + j / 2, reinterpret_cast<__m512i>(b));
                }
            }
            const uint16_t* vb = v + j0 * ldv;
            float* ot = o + t * ldo;
            static_assert(kSumQueries == 6, "wsum_rows_n below lists the group sizes 1 .. kSumQueries");
            wsum_rows_n<1, 2, 3, 4, 5, 6>(ng, w, ldw, vb, ldv, d, nk, ot, ldo, pf);
        }
    }
}

}  // namespace r1::simd::avx512

#pragma GCC pop_options
