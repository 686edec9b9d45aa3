// The plan of an HF -> GGUF conversion: which GGUF tensors to write, their shapes, and how each one is
// computed from the checkpoint's tensors (copied, row-permuted, stacked, or split). Building the plan checks
// the whole checkpoint against config.json before a byte is written: missing tensors, unexpected shapes,
// unsupported dtypes, FP8 weights without scales, and tensors the converter does not recognise (an error
// listing them). Reading a planned tensor's rows (read_planned_rows) is the only place that touches tensor
// data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/deepseek_weights.h"  // MlaLayout
#include "model/hf_config.h"
#include "tensor/tensor.h"

namespace r1 {
namespace safetensors {
class Checkpoint;
}

// DeepSeek attention tensor layout to write (MlaLayout, shared with the loader in model/deepseek_weights.h):
// Mla splits kv_b_proj into attn_k_b (K rows per head, transposed) + attn_v_b with head_count_kv 1 (llama.cpp
// since Apr 2025, PR #12801); Legacy keeps attn_kv_b as in HF with head_count_kv = H.

// How a GGUF tensor is computed from its HF source(s). Shapes are outermost-first.
enum class TensorOp {
    // The rows of one source.
    Copy,
    // llama q/k (weight or bias): rows reordered per head from HF's half-split RoPE layout to adjacent pairs,
    // out row h*hd + 2j + t = in row h*hd + t*hd/2 + j.
    PermuteQK,
    // E sources [F, D] -> [E, F, D] (the routed experts of one layer).
    StackExperts,
    // kv_b [H*(nope+v), kv_lora] -> attn_k_b [H, kv_lora, nope]: the K rows of each head, transposed.
    KvbKTransposed,
    // kv_b [H*(nope+v), kv_lora] -> attn_v_b [H, v, kv_lora]: the V rows of each head.
    KvbV,
    // Values computed by the converter (llama3 rope_freqs).
    Generated,
};

// One HF tensor, with its FP8 block scale (`<name>_scale_inv`, a multiplier) when it is F8_E4M3.
struct HfSource {
    const TensorRef* weight = nullptr;
    const TensorRef* scale_inv = nullptr;  // [ceil(rows/block_rows), ceil(cols/block_cols)]
    int64_t block_rows = 128, block_cols = 128;
};

struct PlannedTensor {
    std::string name;            // GGUF name, "blk.3.attn_k_b.weight"
    std::vector<int64_t> shape;  // outermost-first
    bool keep_f32 = false;       // norms, router, biases: always F32 whatever --type says
    TensorOp op = TensorOp::Copy;
    std::vector<HfSource> sources;  // one, or E for StackExperts, none for Generated
    int64_t n_head = 0;             // PermuteQK (heads of this projection), kv_b ops (H)
    int64_t nope = 0, v_dim = 0;    // kv_b ops: per-head K and V row counts
    std::vector<float> generated;   // Generated

    int64_t cols() const { return shape.back(); }
    int64_t rows() const;  // product of the outer dimensions (1 for a vector)
};

struct ConvertPlan {
    std::vector<PlannedTensor> tensors;  // in GGUF order
    int64_t n_layer = 0;                 // main-model layers
    int64_t n_mtp_layers = 0;            // MTP layers kept (written as blk.{n_layer + k})
    bool has_output = false;             // false: tied embeddings (no output.weight)
    bool fp8 = false;                    // some weights were F8_E4M3
    std::vector<std::string> notes;      // tensors deliberately not written, and why (printed by r1 convert)
};

// Checks the checkpoint against the config and plans every tensor; throws r1::Error naming the tensor,
// field or file. keep_mtp=false drops MTP layers (said in notes).
ConvertPlan plan_conversion(const HfConfig& config, const safetensors::Checkpoint& ckpt, MlaLayout layout,
                            bool keep_mtp = true);

// Rows [row0, row0 + n) of a planned tensor as f32, into dst[n * cols]. Thread-safe for disjoint ranges.
// FP8 weights are dequantised exactly: value = fp8 * scale_inv[row / block_rows][col / block_cols].
void read_planned_rows(const PlannedTensor& t, int64_t row0, int64_t n, float* dst);

// Rows of one HF source as f32 (FP8 scaled as above); exposed for tests.
void read_source_rows(const HfSource& s, int64_t row0, int64_t n, float* dst);

}  // namespace r1
