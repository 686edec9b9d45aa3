// Internal interface between matmul.cpp (threading, scratch, dispatch) and the per-SIMD-level kernels.
//
// Activations are quantised once per call into one of two per-token layouts ("partner formats"), each a
// struct-of-arrays starting at a 64-byte aligned token base (K = cols):
//   A8 (32-element weight blocks: Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL), nb = K/32 blocks of 32:
//     int8 q[K] | f32 d[nb] | i32 sum[nb] | i32 nbias[nb] = -128*sum | f32 dsum[nb] (~ d*sum, below)
//   K8 (K-quants, ggml's Q8_K rule: one scale per 256), nsb = K/256:
//     int8 q[K] | f32 d[nsb] | i16 bsum16[K/16] | i32 nbias16[K/16] = -128*bsum16 | f32 bsf16[K/16] | f32
//     bsf32[K/32] | i16 bsum32[K/32] | i32 nbias16_32[K/16] = -32*bsum16
//     (bsum16 / bsum32: sums of each 16 / 32 q; bsf*: the same as f32)
// where x ≈ d * q with |q| <= 127. Both follow ggml's x86 activation quantisers bit for bit, so that our
// products equal llama.cpp's up to float summation order:
//   A8 (ggml's quantize_row_q8_0 / _q8_1): q = round-to-even(x * (127 / amax)), d = fp16(amax / 127) (ggml
//     stores d as f16 and its dot products use that), dsum = fp16((amax / 127) * sum) (Q8_1's s field).
//   K8 (ggml's quantize_row_q8_K): q = round-to-even(x * (127 / amax)), d = 1 / (127 / amax) in f32 (ggml
//     takes -127 / max of the signed extreme, which flips the signs of q and d together: same products).
// A block holding NaN or Inf gets d = NaN or Inf so that non-finite inputs stay non-finite in the products.
//
// Weights of symmetric types are viewed as w = S * (u - 128) with u = value + 128 in [0, 255]; asymmetric
// ones as w = S * u - M (u unsigned). That lets one u8 x s8 dot (vpdpbusd / maddubs) serve every type; nbias
// pre-loads the -128 * sum correction into integer accumulators (nbias16_32: the -32 * sum of Q6_K's raw
// codes in the AVX-512 tiles).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/matmul.h"
#include "tensor/dtype.h"

namespace r1::simd {

enum class ActKind { F32, A8, K8 };

// Partner format of a weight type.
ActKind act_kind(DType w);

inline size_t round64(size_t n) {
    return (n + 63) & ~size_t{63};
}

struct A8Layout {
    int64_t K, nb;
    size_t off_d, off_sum, off_nbias, off_dsum, stride;
    explicit A8Layout(int64_t k) : K(k), nb(k / 32) {
        off_d = round64(static_cast<size_t>(K));
        off_sum = off_d + round64(4 * nb);
        off_nbias = off_sum + round64(4 * nb);
        off_dsum = off_nbias + round64(4 * nb);
        stride = off_dsum + round64(4 * nb);
    }
};

struct K8Layout {
    int64_t K, nsb;
    size_t off_d, off_bsum16, off_nbias16, off_bsf16, off_bsf32, off_bsum32, off_nbias16_32, stride;
    explicit K8Layout(int64_t k) : K(k), nsb(k / 256) {
        off_d = round64(static_cast<size_t>(K));
        off_bsum16 = off_d + round64(4 * nsb);
        off_nbias16 = off_bsum16 + round64(2 * (K / 16));
        off_bsf16 = off_nbias16 + round64(4 * (K / 16));
        off_bsf32 = off_bsf16 + round64(4 * (K / 16));
        off_bsum32 = off_bsf32 + round64(4 * (K / 32));
        off_nbias16_32 = off_bsum32 + round64(2 * (K / 32));
        stride = off_nbias16_32 + round64(4 * (K / 16));
    }
};

// Writable views of one token's K8 fields, for the quantisers of every level: each sets q, d and the sum of
// every 16 codes (set_sum16), then finish() derives the rest from those sums.
struct K8Fields {
    int8_t* q;
    float* d;
    int16_t* bsum16;
    int32_t* nbias16;
    float *bsf16, *bsf32;
    int16_t* bsum32;
    int32_t* nbias16_32;
    K8Fields(uint8_t* dst, const K8Layout& L)
        : q(reinterpret_cast<int8_t*>(dst)),
          d(reinterpret_cast<float*>(dst + L.off_d)),
          bsum16(reinterpret_cast<int16_t*>(dst + L.off_bsum16)),
          nbias16(reinterpret_cast<int32_t*>(dst + L.off_nbias16)),
          bsf16(reinterpret_cast<float*>(dst + L.off_bsf16)),
          bsf32(reinterpret_cast<float*>(dst + L.off_bsf32)),
          bsum32(reinterpret_cast<int16_t*>(dst + L.off_bsum32)),
          nbias16_32(reinterpret_cast<int32_t*>(dst + L.off_nbias16_32)) {}
    void set_sum16(int64_t g, int s) {
        bsum16[g] = static_cast<int16_t>(s);
        nbias16[g] = -128 * s;
        bsf16[g] = static_cast<float>(s);
    }
    void finish(int64_t K) {
        for (int64_t g = 0; g < K / 16; g++) nbias16_32[g] = -32 * bsum16[g];
        for (int64_t g = 0; g < K / 32; g++) {
            bsf32[g] = bsf16[2 * g] + bsf16[2 * g + 1];
            bsum32[g] = static_cast<int16_t>(bsum16[2 * g] + bsum16[2 * g + 1]);
        }
    }
};

// The inverse scale 127 / amax of a block (0 for an all-zero block, a non-finite amax, or an amax so small
// that the inverse overflows: every q is then 0).
inline float act_inv_scale(float amax) {
    const float id = 127.0f / amax;
    return amax > 0.0f && id < INFINITY ? id : 0.0f;
}
// K8's scale: 1 / (127 / amax), as ggml computes it; amax / 127 (0, NaN or Inf) where that inverse is 0.
inline float k8_scale(float amax) {
    const float id = act_inv_scale(amax);
    return id > 0.0f ? 1.0f / id : amax / 127.0f;
}

// A 64-byte aligned per-thread scratch buffer (slot 0..3), grown to at least `bytes` and then reused: kernels
// get their repack / unpack space here instead of allocating per call.
uint8_t* thread_scratch(int slot, size_t bytes);

// f32 values of the 256 FP8 E4M3 codes (index = byte).
const float* fp8_e4m3_table();

// The activations of one call: n tokens, either f32 rows (x, ldx) or quantised tokens (base + t * stride).
struct Acts {
    ActKind kind = ActKind::F32;
    int64_t n = 0, K = 0;
    const float* x = nullptr;
    int64_t ldx = 0;
    const uint8_t* base = nullptr;
    size_t stride = 0;
    const uint8_t* tok(int64_t t) const { return base + static_cast<size_t>(t) * stride; }
};

// y[t * ldy + r] for r in [r0, r1), t in [0, acts.n): one pass over each weight row, reused across tokens.
using RowdotFn = void (*)(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy);
// Quantises one token of K floats into the A8 / K8 layout at dst.
using QuantActFn = void (*)(const float* x, int64_t K, uint8_t* dst);

// Scalar level (matmul_generic.cpp): every weight type.
namespace scalar {
void quant_a8(const float* x, int64_t K, uint8_t* dst);
void quant_k8(const float* x, int64_t K, uint8_t* dst);
void rowdot(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy);
}  // namespace scalar

// AVX2 level (simd/*_avx2.cpp): every weight type.
namespace avx2 {
void quant_a8(const float* x, int64_t K, uint8_t* dst);
void quant_k8(const float* x, int64_t K, uint8_t* dst);
void rowdot(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy);
}  // namespace avx2

// AVX-512 + VNNI level (simd/*_avx512.cpp).
namespace avx512 {
void quant_a8(const float* x, int64_t K, uint8_t* dst);
void quant_k8(const float* x, int64_t K, uint8_t* dst);

// Integer weight types, any n (matmul_int_avx512.cpp): rows [r0, r1) in tiles of kTileRows, so r0 must be a
// multiple of kTileRows and r1 one too or w.rows. Each output is computed the same way whatever n and the row
// range are.
constexpr int kIntTileRows = 16;
void matmul_int(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy);

// F32-family weights (f32 activations): tiles of 16 rows for n <= kFTileMaxTokens (matmul_f_avx512.cpp; same
// row alignment rule as matmul_int) and a GEMM over panels of kPanelRows rows for larger n
// (gemm_f_avx512.cpp; computes panels [p0, p1) for all tokens). Both add the products of a row in the same
// order, so the result does not depend on n.
constexpr int kFTileMaxTokens = 8;
void matmul_f_tiles(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy);
constexpr int kPanelRows = 32;
void gemm_f32family(const MatRef& w, int64_t p0, int64_t p1, const Acts& a, float* y, int64_t ldy);

// Register-blocked attention kernels (attention_avx512.cpp); contracts as in kernels/attention.h.
void attn_scores(const float* q, int64_t ldq, int64_t nq, const float* k, int64_t ldk, int64_t nk, int64_t d,
                 float scale, float* s, int64_t lds, bool accumulate);
void attn_weighted_sum(const float* p, int64_t ldp, int64_t nq, int64_t max_len, const float* v, int64_t ldv,
                       int64_t d, float* o, int64_t ldo);
// bf16 caches (AVX512_BF16; attention_bf16_avx512.cpp)
void attn_scores_bf16(const uint16_t* q, int64_t ldq, int64_t nq, const uint16_t* k, int64_t ldk, int64_t nk,
                      int64_t d, float scale, float* s, int64_t lds, bool accumulate);
void attn_weighted_sum_bf16(const float* p, int64_t ldp, int64_t nq, int64_t max_len, const uint16_t* v,
                            int64_t ldv, int64_t d, float* o, int64_t ldo);
}  // namespace avx512

}  // namespace r1::simd
