// Weights of the DeepSeek-V2/V3/R1 architecture (GGUF `deepseek2`), as views into the file mapping plus the
// few matrices derived at load. Which features a layer has comes from which tensors exist (q-LoRA, the
// selection bias) and from the metadata (dense vs MoE layers) — never from sizes.
//
// The latent up-projection W^UKV is needed in two forms (spec §5.1, §6.1):
//   naive    k_nope_h = W^UK_h c      [nope, kv_lora] per head   (prefill: decompress K once per position)
//   absorbed q~_h = W^UK_h^T q_nope   [kv_lora, nope] per head   (decode: attend to the latent directly)
// The legacy layout stores kv_b [H*(nope+v), kv_lora] (the naive form); the MLA layout stores attn_k_b
// [H, kv_lora, nope] (the absorbed form) and attn_v_b [H, v, kv_lora]. The missing form is transposed at
// load, and the legacy layout's W^UV heads, which sit between the k_nope rows of kv_b, are copied out into
// one contiguous matrix (decode then reads all heads as one stream).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "model/config.h"
#include "model/weights.h"

namespace r1 {

enum class MlaLayout { Legacy, Mla };  // attn_kv_b | attn_k_b + attn_v_b

// Per-head blocks of rows inside one stacked matrix: head h is rows [h*head_rows + offset, ... + rows).
struct HeadMatrices {
    MatRef all;
    int64_t rows = 0, head_rows = 0, offset = 0;
    MatRef head(int64_t h) const {
        MatRef m = all;
        m.rows = rows;
        m.data = all.data + static_cast<size_t>(h * head_rows + offset) * all.row_stride;
        return m;
    }
};

struct DeepSeekLayerWeights {
    std::vector<float> attn_norm;  // [d]
    MatRef wq;                     // [H*qk, d]      (no q-LoRA)
    MatRef wq_a;                   // [q_lora, d]
    std::vector<float> q_a_norm;   // [q_lora]
    MatRef wq_b;                   // [H*qk, q_lora]
    MatRef wkv_a;                  // [kv_lora + rope, d]: latent and the shared rope key
    std::vector<float> kv_a_norm;  // [kv_lora]
    HeadMatrices wk_naive;         // [nope, kv_lora] per head
    HeadMatrices wk_absorb;        // [kv_lora, nope] per head
    HeadMatrices wv;               // [v, kv_lora] per head
    MatRef wkv_b;                  // legacy: the whole [H*(nope+v), kv_lora] (one matmul decompresses K, V)
    MatRef wo;                     // [d, H*v]
    std::vector<float> ffn_norm;   // [d]
    // dense FFN (layers < n_dense_layers)
    MatRef w_gate, w_up, w_down;  // [ff, d], [ff, d], [d, ff]
    // MoE
    MatRef gate_inp;                         // [E, d] router
    std::vector<float> exp_probs_b;          // [E] selection bias (empty: none)
    std::vector<MatRef> gate_exps, up_exps;  // E x [moe_inter, d]  (slices of ffn_{gate,up}_exps)
    std::vector<MatRef> down_exps;           // E x [d, moe_inter]  (slices of ffn_down_exps)
    MatRef gate_shexp, up_shexp;             // [n_shared*moe_inter, d] (rows 0: no shared experts)
    MatRef down_shexp;                       // [d, n_shared*moe_inter]
    bool is_moe = false;
};

struct DeepSeekWeights {
    TensorRef token_embd;            // [V, d]
    std::vector<float> output_norm;  // [d]
    MatRef output;                   // [V, d]
    MlaLayout layout = MlaLayout::Mla;
    std::vector<DeepSeekLayerWeights> layers;
    std::vector<std::string> mtp_tensors;  // nextn (MTP) tensors present in the file, kept for later use
    // storage of the matrices made at load, two per layer: [2i] the transposed per-head matrices (W^UK^T for
    // the legacy layout, W^UK for the MLA one), [2i + 1] the legacy layout's contiguous W^UV heads
    std::vector<std::vector<uint8_t>> derived;

    static DeepSeekWeights load(const TensorSource& src, const ModelConfig& c);
};

const char* mla_layout_name(MlaLayout l);

}  // namespace r1
