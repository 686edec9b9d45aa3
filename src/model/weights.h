// Weights of the dense architectures (R1-Distill-Qwen = qwen2, R1-Distill-Llama = llama), as views into the
// model file's mapping. Every tensor is shape-checked against the config at load; 1-D tensors (norms, biases,
// rope factors) are converted to f32 copies whatever their stored type.
#pragma once

#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "model/config.h"

namespace r1 {

// Looks tensors up by name and checks them; errors name the tensor, the expected and the found shape/type.
class TensorSource {
public:
    virtual ~TensorSource() = default;
    virtual const TensorRef* find(const std::string& name) const = 0;
    virtual std::string describe() const = 0;  // file path, for messages

    const TensorRef& require(const std::string& name, const std::vector<int64_t>& shape) const;
    const TensorRef* optional(const std::string& name, const std::vector<int64_t>& shape) const;
    // A weight matrix [rows, cols] whose type the matmul kernels support.
    MatRef matrix(const std::string& name, int64_t rows, int64_t cols) const;
    // A 1-D tensor [n] as f32 (empty if absent and !required).
    std::vector<float> vector(const std::string& name, int64_t n, bool required = true) const;
};

struct DenseLayerWeights {
    std::vector<float> attn_norm;     // [d]
    MatRef wq, wk, wv;                // [H*hd, d], [Hkv*hd, d], [Hkv*hd, d]
    std::vector<float> bq, bk, bv;    // [H*hd], [Hkv*hd], [Hkv*hd] — qwen2 (empty when absent)
    MatRef wo;                        // [d, H*hd]
    std::vector<float> ffn_norm;      // [d]
    MatRef w_gate, w_up;              // [ff, d]
    MatRef w_down;                    // [d, ff]
};

struct DenseWeights {
    TensorRef token_embd;             // [V, d] any type with a dequantiser (rows are looked up)
    std::vector<float> output_norm;   // [d]
    MatRef output;                    // [V, d]; the embedding when tied
    bool tied_output = false;
    std::vector<float> rope_freqs;    // [rope_dim/2] llama3 frequency divisors (empty when absent)
    std::vector<DenseLayerWeights> layers;

    static DenseWeights load(const TensorSource& src, const ModelConfig& c);
};

}  // namespace r1
