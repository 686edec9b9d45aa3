// AVX-512 + VNNI row-dot kernels for the integer weight types: the decode path (n = 1) and small n.
// Memory-bound at n = 1, so each weight block is unpacked once per row (per group of up to 4 tokens) with a
// few vector ops (avx512_common.h) and then dotted with each token's int8 activations by vpdpbusd.
//
// Units of 64 weights fill one zmm:
//   32-element types: a pair of blocks, u = value + 128 for the symmetric types. The -128 * sum correction of
//     each block is preloaded into one lane of the int32 accumulator (exact); Q4_1 / Q5_1 subtract M * d *
//     sum in f32 (M / 8 per lane, so the 8 lanes of a block add up to M). Lane scales Sexp = [S0 x8 | S1 x8].
//   K-quants: a super-block is 4 units of raw codes; the sub-block scales are spread to lanes with vpermps
//   and
//     the offset term (M . block sums, M = 32 S for Q6_K) is one FMA per super-block.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/simd/kernels.h"
#include "kernels/simd/unpack.h"

// GCC 12 warns about the deliberately undefined inputs inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,fma,f16c,avx2,bmi,bmi2")

#include "kernels/simd/avx512_common.h"

namespace r1::simd::avx512 {

void rowdot_f32family(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy);

namespace {

constexpr int kMaxTok = 4;

// Symmetric types preload -128 * sum(a) of each block into one lane of the integer accumulator (exact); the
// asymmetric ones subtract M * d * sum in f32. Two accumulators alternate so consecutive pairs do not wait on
// each other's FMA.
template <DType T, int NT>
void rows_a8(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, int64_t t0, float* y, int64_t ldy) {
    const A8Layout L(a.K);
    const size_t bb = static_cast<size_t>(dtype_info(T).block_bytes);
    const int8_t* q[NT];
    const float* d[NT];
    const float* ds[NT];
    const int32_t* nb[NT];
    for (int t = 0; t < NT; t++) {
        const uint8_t* tok = a.tok(t0 + t);
        q[t] = reinterpret_cast<const int8_t*>(tok);
        d[t] = reinterpret_cast<const float*>(tok + L.off_d);
        ds[t] = reinterpret_cast<const float*>(tok + L.off_dsum);
        nb[t] = reinterpret_cast<const int32_t*>(tok + L.off_nbias);
    }
    const int64_t npairs = L.nb / 2;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t* row = w.data + r * w.row_stride;
        __m512 acc[NT][2];
        for (int t = 0; t < NT; t++) acc[t][0] = acc[t][1] = _mm512_setzero_ps();
        // one pair of blocks into accumulator set `k`
        auto do_pair = [&](int64_t p, int k) __attribute__((always_inline)) {
            const int64_t b = 2 * p;
            const uint8_t* p0 = row + b * bb;
            const PairUnit u = unpack_pair<T>(p0, p0 + bb);
            for (int t = 0; t < NT; t++) {
                __m512i init = _mm512_setzero_si512();
                if constexpr (kSym<T>)
                    init = _mm512_mask_set1_epi32(_mm512_maskz_set1_epi32(0x0001, nb[t][b]), 0x0100,
                                                  nb[t][b + 1]);
                const __m512i dot = _mm512_dpbusd_epi32(init, u.u, _mm512_loadu_si512(q[t] + 32 * b));
                const __m512 dv = spread2(_mm512_castpd_ps(
                    _mm512_castpd128_pd512(_mm_load_sd(reinterpret_cast<const double*>(d[t] + b)))));
                acc[t][k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(u.Sexp, dv), acc[t][k]);
                if constexpr (!kSym<T>) {
                    const __m512 sv = spread2(_mm512_castpd_ps(
                        _mm512_castpd128_pd512(_mm_load_sd(reinterpret_cast<const double*>(ds[t] + b)))));
                    acc[t][1 - k] = _mm512_fnmadd_ps(u.M8exp, sv, acc[t][1 - k]);
                }
            }
        };
        int64_t p = 0;
        for (; p + 2 <= npairs; p += 2) {
            do_pair(p, 0);
            do_pair(p + 1, 1);
        }
        if (p < npairs) do_pair(p, 0);
        if (L.nb & 1) {  // last block of an odd count: lanes 8..15 masked out
            const int64_t b = L.nb - 1;
            const PairUnit u = unpack_pair<T>(row + b * bb, nullptr);
            for (int t = 0; t < NT; t++) {
                const __m512i init =
                    kSym<T> ? _mm512_maskz_set1_epi32(0x0001, nb[t][b]) : _mm512_setzero_si512();
                const __m512i dot =
                    _mm512_dpbusd_epi32(init, u.u, _mm512_maskz_loadu_epi8(0xffffffffull, q[t] + 32 * b));
                const __m512 dv = _mm512_maskz_mov_ps(0x00ff, _mm512_set1_ps(d[t][b]));
                acc[t][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(u.Sexp, dv), acc[t][0]);
                if constexpr (!kSym<T>) {
                    const __m512 sv = _mm512_maskz_mov_ps(0x00ff, _mm512_set1_ps(ds[t][b]));
                    acc[t][1] = _mm512_fnmadd_ps(u.M8exp, sv, acc[t][1]);
                }
            }
        }
        for (int t = 0; t < NT; t++)
            y[(t0 + t) * ldy + r] = _mm512_reduce_add_ps(_mm512_add_ps(acc[t][0], acc[t][1]));
    }
}

template <DType T, int NT>
void rows_k8(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, int64_t t0, float* y, int64_t ldy) {
    constexpr bool sub32 = T == DType::Q4_K || T == DType::Q5_K;
    const K8Layout L(a.K);
    const size_t bb = static_cast<size_t>(dtype_info(T).block_bytes);
    const int8_t* q[NT];
    const float* d[NT];
    const float* bs[NT];
    for (int t = 0; t < NT; t++) {
        const uint8_t* tok = a.tok(t0 + t);
        q[t] = reinterpret_cast<const int8_t*>(tok);
        d[t] = reinterpret_cast<const float*>(tok + L.off_d);
        bs[t] = reinterpret_cast<const float*>(tok + (sub32 ? L.off_bsf32 : L.off_bsf16));
    }
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t* row = w.data + r * w.row_stride;
        __m512 acc[NT];
        for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
        // software-pipelined: the next super-block's unpack (a long dependency chain: scale decode,
        // conversion, lane spreading) is issued before this one's dot products, so the two overlap
        SuperUnit next;
        unpack_super<T>(row, &next);
        for (int64_t sb = 0; sb < L.nsb; sb++) {
            const SuperUnit su = next;
            if (sb + 1 < L.nsb) unpack_super<T>(row + (sb + 1) * bb, &next);
            for (int t = 0; t < NT; t++) {
                const int8_t* qt = q[t] + 256 * sb;
                __m512 p[4];
                for (int i = 0; i < 4; i++) {
                    const __m512i dot =
                        _mm512_dpbusd_epi32(_mm512_setzero_si512(), su.u[i], _mm512_loadu_si512(qt + 64 * i));
                    p[i] = _mm512_mul_ps(_mm512_cvtepi32_ps(dot), su.Sexp[i]);
                }
                // a tree, not a chain of 4 FMAs: the super-block's latency is what limits this loop
                __m512 s = _mm512_add_ps(_mm512_add_ps(p[0], p[1]), _mm512_add_ps(p[2], p[3]));
                const __m512 bsv =
                    sub32 ? _mm512_maskz_loadu_ps(0x00ff, bs[t] + 8 * sb) : _mm512_loadu_ps(bs[t] + 16 * sb);
                s = _mm512_fnmadd_ps(su.M, bsv, s);
                acc[t] = _mm512_fmadd_ps(s, _mm512_set1_ps(d[t][sb]), acc[t]);
            }
        }
        for (int t = 0; t < NT; t++) y[(t0 + t) * ldy + r] = _mm512_reduce_add_ps(acc[t]);
    }
}

// ---- dispatch over types and token groups ---------------------------------------------------------------

template <DType T, bool K8>
void rows_typed(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
    for (int64_t t0 = 0; t0 < a.n; t0 += kMaxTok) {
        const int64_t nt = a.n - t0 < kMaxTok ? a.n - t0 : kMaxTok;
        switch (nt) {
#define R1_CASE(N)                                   \
    case N:                                          \
        if constexpr (K8)                            \
            rows_k8<T, N>(w, r0, r1, a, t0, y, ldy); \
        else                                         \
            rows_a8<T, N>(w, r0, r1, a, t0, y, ldy); \
        break;
            R1_CASE(1)
            R1_CASE(2)
            R1_CASE(3)
            R1_CASE(4)
#undef R1_CASE
            default:
                break;
        }
    }
}

}  // namespace

void rowdot(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
    switch (w.type) {
        case DType::Q8_0:
            return rows_typed<DType::Q8_0, false>(w, r0, r1, a, y, ldy);
        case DType::Q4_0:
            return rows_typed<DType::Q4_0, false>(w, r0, r1, a, y, ldy);
        case DType::Q4_1:
            return rows_typed<DType::Q4_1, false>(w, r0, r1, a, y, ldy);
        case DType::Q5_0:
            return rows_typed<DType::Q5_0, false>(w, r0, r1, a, y, ldy);
        case DType::Q5_1:
            return rows_typed<DType::Q5_1, false>(w, r0, r1, a, y, ldy);
        case DType::IQ4_NL:
            return rows_typed<DType::IQ4_NL, false>(w, r0, r1, a, y, ldy);
        case DType::Q4_K:
            return rows_typed<DType::Q4_K, true>(w, r0, r1, a, y, ldy);
        case DType::Q5_K:
            return rows_typed<DType::Q5_K, true>(w, r0, r1, a, y, ldy);
        case DType::Q6_K:
            return rows_typed<DType::Q6_K, true>(w, r0, r1, a, y, ldy);
        case DType::Q2_K:
            return rows_typed<DType::Q2_K, true>(w, r0, r1, a, y, ldy);
        case DType::Q3_K:
            return rows_typed<DType::Q3_K, true>(w, r0, r1, a, y, ldy);
        default:
            return rowdot_f32family(w, r0, r1, a, y, ldy);
    }
}

}  // namespace r1::simd::avx512

#pragma GCC pop_options
