// Element types of model tensors. The numeric values are ggml's type ids (the GGUF `ggml_type` field), so a
// GGUF tensor's type converts with dtype_from_ggml(). Types that only appear in safetensors (FP8) get ids
// above the ggml range. Block layouts (bytes in storage order) are in tensor/blocks.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace r1 {

enum class DType : int32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ4_NL = 20,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    BF16 = 30,
    F8_E4M3 = 1000,  // safetensors only (DeepSeek-V3 FP8 weights, with 128x128 block scales)
};

struct DTypeInfo {
    const char* name;    // "f32", "q4_K", ... (ggml's spelling)
    int32_t block_size;  // elements per block (1 for plain types)
    int32_t block_bytes;
    bool has_dequant;  // dequantize_row() handles it (usable as a weight)
};

// nullptr if `id` is not a type we know (unknown or removed ggml ids).
const DTypeInfo* dtype_info_or_null(int32_t id);
const DTypeInfo& dtype_info(DType t);
inline const char* dtype_name(DType t) {
    return dtype_info(t).name;
}
// Parses "f32", "q8_0", "Q4_K", ... (case-insensitive); false if unknown.
bool dtype_from_name(const std::string& name, DType* out);

// Bytes of a row of n elements (n must be a multiple of the block size; R1_ASSERTed).
size_t row_bytes(DType t, int64_t n);

}  // namespace r1
