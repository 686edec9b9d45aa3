// Quantisation recipes ("q4_k_m", "q8_0", ...) that choose a type for each tensor of a model, and whole-file
// quantisation (GGUF in, GGUF out). The per-tensor choices follow llama.cpp's llama-quant.cpp so that files we
// write have the same mix as llama.cpp's (e.g. Q4_K_M: Q4_K, with Q6_K for `output` and for attn_v / ffn_down on
// the "more bits" layers, and 32-block fallbacks when a row is not a multiple of 256).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/dtype.h"

namespace r1 {

struct QuantRecipe {
    std::string name;   // "q4_k_m"
    DType base;         // Q4_K
    int32_t file_type;  // general.file_type (LLAMA_FTYPE)
};

// Throws r1::Error listing the known recipes if `name` is unknown.
QuantRecipe quant_recipe(const std::string& name);
std::vector<std::string> quant_recipe_names();

// Tracks per-file counters (llama.cpp counts attn_v tensors in order) while choosing types.
class QuantPlanner {
public:
    QuantPlanner(const QuantRecipe& r, int64_t n_layer, int64_t n_attn_v, bool tied_embeddings);
    // Type for tensor `name` with outermost-first `shape`; `current` is its type now (kept when not quantisable).
    DType choose(const std::string& name, const std::vector<int64_t>& shape, DType current);

private:
    QuantRecipe r_;
    int64_t n_layer_, n_attn_v_, i_attn_v_ = 0;
    bool tied_;
};

// Reads a GGUF model and writes it with the recipe's types (metadata copied, general.file_type updated).
void quantize_model_file(const std::string& in_path, const std::string& out_path, const std::string& recipe,
                         bool progress = true);

}  // namespace r1
