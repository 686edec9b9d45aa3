#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/ops.h"
#include "kernels/simd/cpu_features.h"
#include "kernels/simd/kernels.h"

#define R1_CLONES __attribute__((target_clones("avx512f", "avx2,fma", "default")))

namespace r1 {
namespace {

// The portable versions (compiled for AVX-512, AVX2+FMA and baseline by target_clones): below the AVX-512
// level, and the reference the register-blocked AVX-512 kernels (simd/attention_avx512.cpp) are tested
// against.
//
// Keys are taken in blocks of kKeyBlock rows (64 rows of up to 576 floats: L2-resident) and every query
// visits a block before the next is read, so a long cache is streamed from memory once per call, not once per
// group of four queries. Within a block, four queries at a time share each key row (one read, four dot
// products).
constexpr int64_t kKeyBlock = 64;

// An element of Q, K or V as f32: f32 rows as they are, bf16 rows (the high half of an f32) widened.
inline float as_f32(float x) {
    return x;
}
inline float as_f32(uint16_t h) {
    return __builtin_bit_cast(float, static_cast<uint32_t>(h) << 16);
}

// Q and K of element type T (float or bf16). Inlined into each R1_CLONES wrapper below, so every ISA gets its
// own vectorised copy.
template <typename T>
inline __attribute__((always_inline)) void scores_blocked(const T* q, int64_t ldq, int64_t nq, const T* k,
                                                          int64_t ldk, int64_t nk, int64_t d, float scale,
                                                          float* s, int64_t lds, bool accumulate) {
    for (int64_t j0 = 0; j0 < nk; j0 += kKeyBlock) {
        const int64_t j1 = std::min(nk, j0 + kKeyBlock);
        int64_t t = 0;
        for (; t + 4 <= nq; t += 4) {
            const T *q0 = q + t * ldq, *q1 = q0 + ldq, *q2 = q1 + ldq, *q3 = q2 + ldq;
            float *s0 = s + t * lds, *s1 = s0 + lds, *s2 = s1 + lds, *s3 = s2 + lds;
            for (int64_t j = j0; j < j1; j++) {
                const T* kj = k + j * ldk;
                float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
                for (int64_t i = 0; i < d; i++) {
                    const float kv = as_f32(kj[i]);
                    a0 += as_f32(q0[i]) * kv;
                    a1 += as_f32(q1[i]) * kv;
                    a2 += as_f32(q2[i]) * kv;
                    a3 += as_f32(q3[i]) * kv;
                }
                if (accumulate) {
                    s0[j] += scale * a0, s1[j] += scale * a1, s2[j] += scale * a2, s3[j] += scale * a3;
                } else {
                    s0[j] = scale * a0, s1[j] = scale * a1, s2[j] = scale * a2, s3[j] = scale * a3;
                }
            }
        }
        for (; t < nq; t++) {
            const T* qt = q + t * ldq;
            float* st = s + t * lds;
            for (int64_t j = j0; j < j1; j++) {
                const T* kj = k + j * ldk;
                float a = 0;
#pragma omp simd reduction(+ : a)
                for (int64_t i = 0; i < d; i++) a += as_f32(qt[i]) * as_f32(kj[i]);
                st[j] = accumulate ? st[j] + scale * a : scale * a;
            }
        }
    }
}

// The same key blocks as the scores (each value block read once for all queries); four queries at a time
// share each value row. V of element type T.
template <typename T>
inline __attribute__((always_inline)) void weighted_sum_blocked(const float* p, int64_t ldp, int64_t nq,
                                                                int64_t max_len, const T* v, int64_t ldv,
                                                                int64_t d, float* o, int64_t ldo) {
    for (int64_t t = 0; t < nq; t++) std::fill(o + t * ldo, o + t * ldo + d, 0.0f);
    for (int64_t j0 = 0; j0 < max_len; j0 += kKeyBlock) {
        const int64_t j1 = std::min(max_len, j0 + kKeyBlock);
        int64_t t = 0;
        for (; t + 4 <= nq; t += 4) {
            float *o0 = o + t * ldo, *o1 = o0 + ldo, *o2 = o1 + ldo, *o3 = o2 + ldo;
            const float *p0 = p + t * ldp, *p1 = p0 + ldp, *p2 = p1 + ldp, *p3 = p2 + ldp;
            for (int64_t j = j0; j < j1; j++) {
                const T* vj = v + j * ldv;
                const float w0 = p0[j], w1 = p1[j], w2 = p2[j], w3 = p3[j];
#pragma omp simd
                for (int64_t i = 0; i < d; i++) {
                    const float x = as_f32(vj[i]);
                    o0[i] += w0 * x;
                    o1[i] += w1 * x;
                    o2[i] += w2 * x;
                    o3[i] += w3 * x;
                }
            }
        }
        for (; t < nq; t++) {
            float* ot = o + t * ldo;
            const float* pt = p + t * ldp;
            for (int64_t j = j0; j < j1; j++) {
                const T* vj = v + j * ldv;
                const float w = pt[j];
#pragma omp simd
                for (int64_t i = 0; i < d; i++) ot[i] += w * as_f32(vj[i]);
            }
        }
    }
}

R1_CLONES void scores_portable(const float* q, int64_t ldq, int64_t nq, const float* k, int64_t ldk,
                               int64_t nk, int64_t d, float scale, float* s, int64_t lds, bool accumulate) {
    scores_blocked(q, ldq, nq, k, ldk, nk, d, scale, s, lds, accumulate);
}

R1_CLONES void weighted_sum_portable(const float* p, int64_t ldp, int64_t nq, int64_t max_len, const float* v,
                                     int64_t ldv, int64_t d, float* o, int64_t ldo) {
    weighted_sum_blocked(p, ldp, nq, max_len, v, ldv, d, o, ldo);
}

R1_CLONES void scores_bf16_portable(const uint16_t* q, int64_t ldq, int64_t nq, const uint16_t* k,
                                    int64_t ldk, int64_t nk, int64_t d, float scale, float* s, int64_t lds,
                                    bool accumulate) {
    scores_blocked(q, ldq, nq, k, ldk, nk, d, scale, s, lds, accumulate);
}

R1_CLONES void weighted_sum_bf16_portable(const float* p, int64_t ldp, int64_t nq, int64_t max_len,
                                          const uint16_t* v, int64_t ldv, int64_t d, float* o, int64_t ldo) {
    weighted_sum_blocked(p, ldp, nq, max_len, v, ldv, d, o, ldo);
}

bool use_bf16_kernels() {
    return simd_level() == SimdLevel::Avx512 && cpu_has_avx512_bf16();
}

}  // namespace

void attn_scores(const float* q, int64_t ldq, int64_t nq, const float* k, int64_t ldk, int64_t nk, int64_t d,
                 float scale, float* s, int64_t lds, bool accumulate) {
    if (simd_level() == SimdLevel::Avx512)
        return simd::avx512::attn_scores(q, ldq, nq, k, ldk, nk, d, scale, s, lds, accumulate);
    scores_portable(q, ldq, nq, k, ldk, nk, d, scale, s, lds, accumulate);
}

void attn_weighted_sum(const float* p, int64_t ldp, int64_t nq, int64_t max_len, const float* v, int64_t ldv,
                       int64_t d, float* o, int64_t ldo) {
    if (simd_level() == SimdLevel::Avx512)
        return simd::avx512::attn_weighted_sum(p, ldp, nq, max_len, v, ldv, d, o, ldo);
    weighted_sum_portable(p, ldp, nq, max_len, v, ldv, d, o, ldo);
}

void attn_scores_bf16(const uint16_t* q, int64_t ldq, int64_t nq, const uint16_t* k, int64_t ldk, int64_t nk,
                      int64_t d, float scale, float* s, int64_t lds, bool accumulate) {
    if (use_bf16_kernels())
        return simd::avx512::attn_scores_bf16(q, ldq, nq, k, ldk, nk, d, scale, s, lds, accumulate);
    scores_bf16_portable(q, ldq, nq, k, ldk, nk, d, scale, s, lds, accumulate);
}

void attn_weighted_sum_bf16(const float* p, int64_t ldp, int64_t nq, int64_t max_len, const uint16_t* v,
                            int64_t ldv, int64_t d, float* o, int64_t ldo) {
    if (use_bf16_kernels())
        return simd::avx512::attn_weighted_sum_bf16(p, ldp, nq, max_len, v, ldv, d, o, ldo);
    weighted_sum_bf16_portable(p, ldp, nq, max_len, v, ldv, d, o, ldo);
}

void attn_softmax_rows(float* s, int64_t lds, int64_t nq, const int64_t* len, int64_t nk) {
    for (int64_t t = 0; t < nq; t++) {
        float* row = s + t * lds;
        const int64_t n = std::min(len[t], nk);
        softmax_inplace(row, n);
        std::fill(row + n, row + nk, 0.0f);
    }
}

}  // namespace r1
