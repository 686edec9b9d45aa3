// ModelConfig: the hyper-parameters of a model, read from GGUF metadata (and later from HF config.json).
// Field names follow the reference implementations (llama.cpp's hparams for the dense models; DeepSeek's
// inference/model.py ModelArgs for deepseek2) so a reviewer can hold them side by side.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/ops.h"

namespace r1 {
namespace gguf {
class File;
}

enum class Arch { Llama, Qwen2, DeepSeek2 };

// DeepSeekMoE router score function (GGUF expert_gating_func: 1 softmax, 2 sigmoid).
enum class ScoreFunc { Softmax, Sigmoid };
const char* arch_name(Arch a);

struct ModelConfig {
    Arch arch = Arch::Llama;
    std::string name;         // general.name, for messages
    int64_t n_vocab = 0;      // rows of token_embd
    int64_t n_ctx_train = 0;  // context the model was trained for
    int64_t n_embd = 0;       // d: hidden size
    int64_t n_layer = 0;
    int64_t n_ff = 0;       // FFN inner size
    int64_t n_head = 0;     // H: query heads
    int64_t n_head_kv = 0;  // KV heads (GQA: n_head % n_head_kv == 0)
    int64_t head_dim = 0;   // per-head size of q, k and v
    float rms_eps = 1e-6f;
    float rope_theta = 10000.0f;
    int64_t rope_dim = 0;  // rotated dims per head (== head_dim for the dense models)
    RopeStyle rope_style = RopeStyle::Norm;
    float rope_freq_scale =
        1.0f;  // linear rope scaling (1 / factor); llama3 scaling comes as the rope_freqs tensor

    // ---- YaRN (DeepSeek; spec §6.2-6.3) ----
    bool yarn = false;
    float yarn_factor = 1.0f;       // rope_factor (40 for V3/R1)
    int64_t yarn_original_ctx = 0;  // original_seq_len (4096)
    float yarn_beta_fast = 32.0f, yarn_beta_slow = 1.0f;
    float yarn_mscale_all_dim = 0.0f;  // HF mscale_all_dim = GGUF rope.scaling.yarn_log_multiplier / 0.1

    // ---- deepseek2: MLA and DeepSeekMoE (names as in DeepSeek's inference/model.py ModelArgs) ----
    int64_t n_dense_layers = 0;       // first_k_dense_replace: layers [0, n) use the dense FFN (n_ff)
    int64_t q_lora_rank = 0;          // 0: plain wq (V2-Lite)
    int64_t kv_lora_rank = 0;         // d_c (512)
    int64_t qk_nope_head_dim = 0;     // 128
    int64_t qk_rope_head_dim = 0;     // 64 (== rope_dim)
    int64_t v_head_dim = 0;           // 128
    int64_t n_routed_experts = 0;     // E
    int64_t n_activated_experts = 0;  // K
    int64_t n_shared_experts = 0;
    int64_t moe_inter_dim = 0;     // expert FFN size
    int64_t n_expert_groups = 1;   // n_group
    int64_t n_limited_groups = 1;  // topk_group
    ScoreFunc score_func = ScoreFunc::Softmax;
    bool norm_topk_prob = false;        // renormalise the selected weights
    float route_scale = 1.0f;           // routed_scaling_factor
    bool groups_from_metadata = false;  // the GGUF had the group keys (old R1/V3 GGUFs lack them)
    int64_t n_nextn_layers = 0;         // MTP layers kept in the file (not used by the forward)

    bool is_deepseek() const { return arch == Arch::DeepSeek2; }
    int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
    // Softmax scale of the attention: 1/sqrt(head dim), times mscale^2 with YaRN (DeepSeek).
    float attn_scale() const;

    int64_t q_dim() const { return is_deepseek() ? n_head * qk_head_dim() : n_head * head_dim; }
    // Cached values per token per layer: K and V of the KV heads (dense), or the MLA latent + rope key
    // (deepseek2).
    int64_t kv_dim() const { return is_deepseek() ? kv_lora_rank + qk_rope_head_dim : n_head_kv * head_dim; }
    int64_t cache_row() const { return is_deepseek() ? kv_dim() : 2 * kv_dim(); }
    // Bytes of KV cache one token occupies across all layers (f32 cache).

    // Reads `{arch}.*` keys; throws r1::Error naming a missing/invalid key or an unsupported architecture.
    static ModelConfig from_gguf(const gguf::File& f);
    // Checks the numbers are consistent (divisibility, positivity); throws r1::Error.
    void validate() const;
    std::string summary() const;  // one line for logs
};

}  // namespace r1
