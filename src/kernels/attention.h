// Attention as blocks of dense work, so that prefill and long-context decode run as vector code instead of
// one small dot product per (query, key) pair:
//   S[t, j]  = scale * Q_t · K_j            (+= when accumulating a second part, e.g. MLA's rope half)
//   softmax of S[t, 0..len_t) in place, zero beyond (causal: query t sees len_t keys)
//   O[t, :]  = sum_j P[t, j] V_j
// Rows are strided: Q, K and V may be views into a KV cache or a projection buffer. At the AVX-512 level the
// scores and weighted sums run register-blocked kernels (simd/attention_avx512.cpp); below it, portable
// versions compiled for AVX2+FMA and baseline x86-64 (target_clones). tests/kernels/test_attention.cpp checks
// every level against plain loops. A score never depends on the other queries and keys of the call.
#pragma once

#include <cstdint>

namespace r1 {

// S [nq, ldS] = scale * Q [nq, d] (row stride ldq) · K [nk, d]^T (row stride ldk); accumulate adds to S.
void attn_scores(const float* q, int64_t ldq, int64_t nq, const float* k, int64_t ldk, int64_t nk, int64_t d,
                 float scale, float* s, int64_t lds, bool accumulate);

// Row t of S: softmax over its first len[t] entries, zeros after (len[t] >= 1).
void attn_softmax_rows(float* s, int64_t lds, int64_t nq, const int64_t* len, int64_t nk);

// O [nq, d] (row stride ldo) = P [nq, nk] (row stride ldp) · V [nk, d] (row stride ldv); only the first
// max_len columns of P are read (the rest are zero by construction).
void attn_weighted_sum(const float* p, int64_t ldp, int64_t nq, int64_t max_len, const float* v, int64_t ldv,
                       int64_t d, float* o, int64_t ldo);

// The same for bf16 caches (uint16_t: the high half of an f32). The queries are bf16 too (round them with
// f32_to_bf16). On CPUs with AVX512_BF16 the products run as bf16 dot products, and the weights P are rounded
// to bf16 (relative error up to 2^-8) on the way; elsewhere the rows are widened to f32 and P is used as is.
void attn_scores_bf16(const uint16_t* q, int64_t ldq, int64_t nq, const uint16_t* k, int64_t ldk, int64_t nk,
                      int64_t d, float scale, float* s, int64_t lds, bool accumulate);
void attn_weighted_sum_bf16(const float* p, int64_t ldp, int64_t nq, int64_t max_len, const uint16_t* v,
                            int64_t ldv, int64_t d, float* o, int64_t ldo);

}  // namespace r1
