// Matrix products against weights of any supported type: the hot path of inference.
//
//   Y[t, r] = sum_c W[r, c] * X[t, c]        W [rows, cols] (any weight DType), X [n, cols] f32, Y [n, rows]
//   f32
//
// Activations are first converted, once per call, to the weight type's partner format exactly as ggml's x86
// CPU backend does (so that products match llama.cpp's, whose logits are the project's reference): int8 with
// one f16-rounded scale per 32 values for Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL (ggml's Q8_0 / Q8_1), int8 with one
// f32 scale per 256 for the K-quants (Q8_K); rules in kernels/simd/kernels.h. The f32 family (F32 F16 BF16
// F8_E4M3) keeps f32 activations (ggml rounds them to f16 / bf16 for F16 / BF16 weights; we do not, so that
// the two MLA forms and the float64 DeepSeek reference keep agreeing to 1e-4). The buffer for that lives in a
// per-thread scratch that grows once and is then reused (no allocation per call in steady state). Each
// quantised activation moves by at most half a step (amax/254 of its block) plus the f16 rounding of the
// scale: that is the accuracy contract tested against matmul_ref.
//
// With AVX-512 + VNNI the integer types use one kernel for every n (simd/matmul_int_avx512.cpp): tiles of 16
// rows unpacked on the fly into "rows in lanes" form, so each weight byte is read once per call and used by
// every token, and a row's result is the same whatever n (decode and prefill agree bit for bit). The f32
// family uses a row-dot for small n and a tiled GEMM over repacked 32-row panels from 14 tokens on. The AVX2
// and scalar levels use row-dot kernels (one pass over each row per group of up to 4 tokens).
//
// SIMD: scalar, AVX2 and AVX-512 (+VNNI) kernels are compiled into every build and chosen at run time from
// the CPU's features; R1_SIMD=scalar|avx2|avx512 caps the level, set_simd_level()
// (kernels/simd/cpu_features.h) changes it at run time. NaN or Inf in X or W stays non-finite in Y.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/simd/cpu_features.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace r1 {

// A weight matrix view: `rows` rows of `cols` elements, row r at data + r * row_stride.
struct MatRef {
    DType type = DType::F32;
    int64_t rows = 0, cols = 0;
    const uint8_t* data = nullptr;
    size_t row_stride = 0;
};

// The matrix view of a 2-D TensorRef [rows, cols] (or of expert e of a 3-D [E, rows, cols] tensor). Throws
// r1::Error naming the tensor if the shape, the block alignment of cols or the byte size is wrong.
MatRef mat_of(const TensorRef& t);
MatRef mat_of_slice(const TensorRef& t, int64_t index);

// Y = X W^T. ldx / ldy are the row strides (in floats) of X and Y. Multithreaded over rows (base/parallel.h).
// Throws r1::Error for a weight type that is not supported or a row length that is not a whole number of
// blocks.
void matmul(const MatRef& w, const float* x, int64_t ldx, int64_t n, float* y, int64_t ldy);
inline void matvec(const MatRef& w, const float* x, float* y) {
    matmul(w, x, w.cols, 1, y, w.rows);
}

// Several products in one parallel pass: Y_j = X_j W_j^T for every job. Each Y_j equals what matmul() gives,
// bit for bit. At the AVX-512 level with at most kBatchMaxTokens tokens per job, the jobs' row chunks form
// one work list (one parallel region instead of one per matrix: the threads do not wait for each other
// between matrices, and the region's start-up cost is paid once; decode runs many small products, e.g. the
// experts of a MoE layer), consecutive jobs with the same X share one activation quantisation, and the
// prefetches of a job whose matrix ends where the next job's begins run on into it (per-head products).
// Otherwise it calls matmul() per job: each split across the threads, or, when every job is small, whole jobs
// shared out among them.
struct MatmulJob {
    MatRef w;
    const float* x = nullptr;
    int64_t ldx = 0, n = 0;
    float* y = nullptr;
    int64_t ldy = 0;
};
constexpr int64_t kBatchMaxTokens = 8;
void matmul_batch(const MatmulJob* jobs, int64_t n_jobs);

// Reference: dequantise each row (tensor/quant.h) and accumulate in double. Slow; for tests.
void matmul_ref(const MatRef& w, const float* x, int64_t ldx, int64_t n, float* y, int64_t ldy);

// True if `type` is usable as a matmul weight: F32 F16 BF16 F8_E4M3 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K
// Q5_K Q6_K IQ4_NL.
bool matmul_supports(DType type);

// Which SIMD level the kernels use ("avx512-vnni", "avx2", "scalar").
const char* simd_level_name();

}  // namespace r1
