// TensorRef: a typed, shaped view of bytes owned by someone else (a file mapping or a buffer).
// Shapes are outermost-first, as in PyTorch and safetensors: a linear weight is [out, in] and each of its
// `out` rows is `in` contiguous elements (GGUF's ne[] is the reverse list; the GGUF reader converts once).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/dtype.h"

namespace r1 {

struct TensorRef {
    std::string name;
    DType type = DType::F32;
    std::vector<int64_t> shape;  // outermost-first
    const uint8_t* data = nullptr;
    size_t nbytes = 0;

    int64_t numel() const {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return n;
    }
    int64_t cols() const { return shape.empty() ? 1 : shape.back(); }  // innermost dimension
    int64_t rows() const { return shape.empty() ? 1 : numel() / cols(); }
    size_t row_stride() const { return row_bytes(type, cols()); }
};

// "[2048, 576]" for messages.
std::string shape_str(const std::vector<int64_t>& shape);

}  // namespace r1
