// AVX-512 attention kernels (the contracts are in kernels/attention.h; attention.cpp holds the portable
// versions, which the tests compare these against).
//
// Both are register-blocked so that each load feeds two or more FMAs (the portable loops load a key row and
// four query rows for every four FMAs, which caps them at about 40 % of the FMA rate):
//   scores:       a tile of 4 queries x 4 keys keeps 16 accumulators over d; per 16 columns it loads 4 query
//                 and 4 key vectors for 16 FMAs, then reduces each accumulator to one score.
//   weighted sum: a tile of 4 queries x 64 output columns (16 accumulators) runs over a block of keys; per
//   key
//                 it loads 4 value vectors and broadcasts 4 weights for 16 FMAs.
// Keys are taken in blocks of kKeyBlock rows (L2-resident) that every query visits before the next block, so
// a long cache is read from memory once per call.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/simd/kernels.h"

// (_mm512_reduce_add_ps starts from an undefined vector, which GCC 12 reports)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,fma,avx2")

#include "kernels/simd/avx512_common.h"

namespace r1::simd::avx512 {
namespace {

constexpr int64_t kKeyBlock = 64;

// Scores of NQ queries x NK keys over d columns; the last partial vector is masked (no read past a row).
template <int NQ, int NK>
R1_AVX512_INLINE void score_tile(const float* q, int64_t ldq, const float* k, int64_t ldk, int64_t d,
                                 float scale, float* s, int64_t lds, bool accumulate) {
    __m512 acc[NQ][NK];
    for (int a = 0; a < NQ; a++)
        for (int b = 0; b < NK; b++) acc[a][b] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= d; i += 16) {
        __m512 kv[NK];
        for (int b = 0; b < NK; b++) kv[b] = _mm512_loadu_ps(k + b * ldk + i);
        for (int a = 0; a < NQ; a++) {
            const __m512 qv = _mm512_loadu_ps(q + a * ldq + i);
            for (int b = 0; b < NK; b++) acc[a][b] = _mm512_fmadd_ps(qv, kv[b], acc[a][b]);
        }
    }
    if (i < d) {
        const __mmask16 m = static_cast<__mmask16>((1u << (d - i)) - 1);
        __m512 kv[NK];
        for (int b = 0; b < NK; b++) kv[b] = _mm512_maskz_loadu_ps(m, k + b * ldk + i);
        for (int a = 0; a < NQ; a++) {
            const __m512 qv = _mm512_maskz_loadu_ps(m, q + a * ldq + i);
            for (int b = 0; b < NK; b++) acc[a][b] = _mm512_fmadd_ps(qv, kv[b], acc[a][b]);
        }
    }
    // Every tile shape reduces through the same tree (missing accumulators are zeros), so a score does not
    // depend on which queries and keys shared its tile: how heads are grouped into work items (which follows
    // the thread count) cannot change a result.
    __m512 v[16];
    for (auto& x : v) x = _mm512_setzero_ps();
    for (int a = 0; a < NQ; a++)
        for (int b = 0; b < NK; b++) v[4 * a + b] = acc[a][b];
    alignas(64) float t[16];
    _mm512_store_ps(t, _mm512_mul_ps(hsum16(v), _mm512_set1_ps(scale)));
    for (int a = 0; a < NQ; a++) {
        if constexpr (NK == 4) {
            const __m128 r = _mm_load_ps(t + 4 * a);
            _mm_storeu_ps(s + a * lds, accumulate ? _mm_add_ps(_mm_loadu_ps(s + a * lds), r) : r);
        } else {
            for (int b = 0; b < NK; b++)
                s[a * lds + b] = accumulate ? s[a * lds + b] + t[4 * a + b] : t[4 * a + b];
        }
    }
}

template <int NQ>
R1_AVX512_INLINE void score_rows(const float* q, int64_t ldq, const float* k, int64_t ldk, int64_t j0,
                                 int64_t j1, int64_t d, float scale, float* s, int64_t lds, bool accumulate) {
    int64_t j = j0;
    for (; j + 4 <= j1; j += 4) score_tile<NQ, 4>(q, ldq, k + j * ldk, ldk, d, scale, s + j, lds, accumulate);
    for (; j < j1; j++) score_tile<NQ, 1>(q, ldq, k + j * ldk, ldk, d, scale, s + j, lds, accumulate);
}

// o[NQ rows, NC vectors from column i] += sum over keys [j0, j1) of p[., j] v_j; the last vector masked by m.
template <int NQ, int NC>
R1_AVX512_INLINE void wsum_tile(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t j0,
                                int64_t j1, float* o, int64_t ldo, __mmask16 m) {
    __m512 acc[NQ][NC];
    for (int a = 0; a < NQ; a++)
        for (int c = 0; c < NC; c++)
            acc[a][c] = c + 1 < NC ? _mm512_loadu_ps(o + a * ldo + 16 * c)
                                   : _mm512_maskz_loadu_ps(m, o + a * ldo + 16 * c);
    for (int64_t j = j0; j < j1; j++) {
        const float* vj = v + j * ldv;
        __m512 vv[NC];
        for (int c = 0; c < NC; c++)
            vv[c] = c + 1 < NC ? _mm512_loadu_ps(vj + 16 * c) : _mm512_maskz_loadu_ps(m, vj + 16 * c);
        for (int a = 0; a < NQ; a++) {
            const __m512 w = _mm512_set1_ps(p[a * ldp + j]);
            for (int c = 0; c < NC; c++) acc[a][c] = _mm512_fmadd_ps(w, vv[c], acc[a][c]);
        }
    }
    for (int a = 0; a < NQ; a++)
        for (int c = 0; c < NC; c++)
            if (c + 1 < NC)
                _mm512_storeu_ps(o + a * ldo + 16 * c, acc[a][c]);
            else
                _mm512_mask_storeu_ps(o + a * ldo + 16 * c, m, acc[a][c]);
}

template <int NQ>
R1_AVX512_INLINE void wsum_rows(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t d,
                                int64_t j0, int64_t j1, float* o, int64_t ldo) {
    int64_t i = 0;
    for (; i + 64 <= d; i += 64) wsum_tile<NQ, 4>(p, ldp, v + i, ldv, j0, j1, o + i, ldo, 0xffff);
    if (i == d) return;
    const int64_t rest = d - i, nc = (rest + 15) / 16;
    const __mmask16 m = static_cast<__mmask16>(rest % 16 == 0 ? 0xffff : (1u << (rest % 16)) - 1);
    switch (nc) {
        case 1:
            return wsum_tile<NQ, 1>(p, ldp, v + i, ldv, j0, j1, o + i, ldo, m);
        case 2:
            return wsum_tile<NQ, 2>(p, ldp, v + i, ldv, j0, j1, o + i, ldo, m);
        case 3:
            return wsum_tile<NQ, 3>(p, ldp, v + i, ldv, j0, j1, o + i, ldo, m);
        default:
            return wsum_tile<NQ, 4>(p, ldp, v + i, ldv, j0, j1, o + i, ldo, m);
    }
}

}  // namespace

void attn_scores(const float* q, int64_t ldq, int64_t nq, const float* k, int64_t ldk, int64_t nk, int64_t d,
                 float scale, float* s, int64_t lds, bool accumulate) {
    for (int64_t j0 = 0; j0 < nk; j0 += kKeyBlock) {
        const int64_t j1 = std::min(nk, j0 + kKeyBlock);
        int64_t t = 0;
        for (; t + 4 <= nq; t += 4)
            score_rows<4>(q + t * ldq, ldq, k, ldk, j0, j1, d, scale, s + t * lds, lds, accumulate);
        switch (nq - t) {
            case 3:
                score_rows<3>(q + t * ldq, ldq, k, ldk, j0, j1, d, scale, s + t * lds, lds, accumulate);
                break;
            case 2:
                score_rows<2>(q + t * ldq, ldq, k, ldk, j0, j1, d, scale, s + t * lds, lds, accumulate);
                break;
            case 1:
                score_rows<1>(q + t * ldq, ldq, k, ldk, j0, j1, d, scale, s + t * lds, lds, accumulate);
                break;
            default:
                break;
        }
    }
}

void attn_weighted_sum(const float* p, int64_t ldp, int64_t nq, int64_t max_len, const float* v, int64_t ldv,
                       int64_t d, float* o, int64_t ldo) {
    for (int64_t t = 0; t < nq; t++) std::fill(o + t * ldo, o + t * ldo + d, 0.0f);
    for (int64_t j0 = 0; j0 < max_len; j0 += kKeyBlock) {
        const int64_t j1 = std::min(max_len, j0 + kKeyBlock);
        int64_t t = 0;
        for (; t + 4 <= nq; t += 4) wsum_rows<4>(p + t * ldp, ldp, v, ldv, d, j0, j1, o + t * ldo, ldo);
        switch (nq - t) {
            case 3:
                wsum_rows<3>(p + t * ldp, ldp, v, ldv, d, j0, j1, o + t * ldo, ldo);
                break;
            case 2:
                wsum_rows<2>(p + t * ldp, ldp, v, ldv, d, j0, j1, o + t * ldo, ldo);
                break;
            case 1:
                wsum_rows<1>(p + t * ldp, ldp, v, ldv, d, j0, j1, o + t * ldo, ldo);
                break;
            default:
                break;
        }
    }
}

}  // namespace r1::simd::avx512

#pragma GCC pop_options
