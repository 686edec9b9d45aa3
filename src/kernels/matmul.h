// Matrix products against weights of any supported type: the hot path of inference.
//
//   Y[t, r] = sum_c W[r, c] * X[t, c]        W [rows, cols] (any weight DType), X [n, cols] f32, Y [n, rows]
//   f32
//
// n == 1 (decode) is a matrix-vector product, memory-bound: each thread streams its share of W's rows once.
// n > 1 (prefill) is tiled so that each block of W is reused across several tokens while it is in cache.
// The activations are first converted to the weight type's partner format (Q8_0 for the 32-blocks, Q8_K for
// the K-quants, f32 otherwise) in a per-thread scratch buffer that grows once and is then reused. Fast paths
// (AVX2, AVX-512 + VNNI) are chosen at run time; matmul_ref is the plain reference they are tested against.
#pragma once

#include <cstddef>
#include <cstdint>

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

// The matrix view of a 2-D TensorRef [rows, cols] (or of expert e of a 3-D [E, rows, cols] tensor).
MatRef mat_of(const TensorRef& t);
MatRef mat_of_slice(const TensorRef& t, int64_t index);

// Y = X W^T. ldx / ldy are the row strides (in floats) of X and Y. Multithreaded over rows.
void matmul(const MatRef& w, const float* x, int64_t ldx, int64_t n, float* y, int64_t ldy);
inline void matvec(const MatRef& w, const float* x, float* y) {
    matmul(w, x, w.cols, 1, y, w.rows);
}

// Reference: dequantise each row and accumulate in double. Slow; for tests.
void matmul_ref(const MatRef& w, const float* x, int64_t ldx, int64_t n, float* y, int64_t ldy);

// True if `type` is usable as a matmul weight.
bool matmul_supports(DType type);

// Which SIMD level the kernels use ("avx512-vnni", "avx2", "scalar"); R1_SIMD=scalar|avx2|avx512 caps it.
const char* simd_level_name();

}  // namespace r1
