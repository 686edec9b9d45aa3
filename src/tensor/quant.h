// Dequantisation and quantisation of rows, exact to ggml's reference layouts (block structs in
// tensor/blocks.h). These are the plain scalar reference versions: the fast kernels (src/kernels/) are tested
// against them.
#pragma once

#include <cstdint>

#include "tensor/dtype.h"

namespace r1 {

// dst[0..n) = value of the n elements at src. n is a multiple of the block size. Types: every DType whose
// DTypeInfo::has_dequant is true (F32 F16 BF16 F8_E4M3 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K
// IQ4_NL), plus Q8_K. Other types throw r1::Error.
void dequantize_row(DType type, const void* src, float* dst, int64_t n);

// True if quantize_row supports `type` as a destination.
bool can_quantize(DType type);

// Encodes n floats (a multiple of the block size) into `type` with ggml's reference quantiser for that type
// (quantize_row_*_ref: byte-identical output, so files we write dequantise like llama.cpp's). Supported: F32
// F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K and the activation-side Q8_K. Any other type
// throws r1::Error (check with can_quantize first).
void quantize_row(DType type, const float* src, void* dst, int64_t n);

}  // namespace r1
