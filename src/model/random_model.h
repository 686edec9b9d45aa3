// Writes GGUF models with random weights of any shape: tiny models for tests and demos (with a real tokenizer's
// vocabulary in the metadata, so llama.cpp loads them too) and full-size shapes for speed benchmarks.
// Deterministic: the same spec and seed give the same bytes, whatever the thread count.
#pragma once

#include <cstdint>
#include <string>

namespace r1 {

class Tokenizer;

struct RandomModelSpec {
    std::string arch = "qwen2";  // qwen2 | llama | deepseek2
    std::string name = "random";
    int64_t n_vocab = 0;  // 0: the tokenizer's vocabulary size
    int64_t n_embd = 64, n_layer = 2, n_head = 4, n_head_kv = 2, n_ff = 192, head_dim = 0;  // head_dim 0: d/H
    int64_t n_ctx = 4096;
    float rope_theta = 0;  // 0: the R1-Distill value for the arch (qwen2 1e4, llama 5e5)
    float rms_eps = 1e-6f;
    bool llama3_rope = true;   // llama: write rope_freqs from Llama-3.1 scaling (factor 8, 1, 4, original 8192)
    bool tied_embeddings = false;
    std::string quant = "f32";  // a recipe name (model/quantize.h)
    std::string chat_template;  // Jinja text for tokenizer.chat_template; empty: the tokenizer's own
    uint64_t seed = 1;
    // deepseek2 (spec §3.1 names); n_ff is the dense layers' FFN
    int64_t n_dense_layers = 1;
    int64_t q_lora_rank = 0, kv_lora_rank = 32, qk_nope = 16, qk_rope = 16, v_head = 16;
    int64_t n_experts = 8, n_experts_used = 2, n_shared_experts = 1, moe_inter = 32;
    int64_t n_groups = 1, n_groups_used = 1;
    bool write_group_keys = true;  // false: like early R1/V3 GGUFs, which lack expert_group_count
    bool sigmoid = false;          // V3/R1 sigmoid scores (else V2 softmax)
    bool selection_bias = false;   // exp_probs_b (V3/R1)
    bool norm_topk_prob = false;
    float route_scale = 1.0f;
    bool mla_layout = true;        // attn_k_b + attn_v_b (else legacy attn_kv_b)
    float yarn_factor = 0;         // > 1: YaRN rope scaling
    int64_t yarn_original_ctx = 4096;
    float yarn_mscale_all_dim = 1.0f;
    // Weights ~ N(0, (gain / sqrt(fan_in))^2); residual branches (wo, w_down) use residual_gain: random models
    // amplify float error through depth unless their residual branches are small.
    float gain = 1.0f, residual_gain = 0.25f, embd_std = 1.0f, output_gain = 3.0f;
};

// `tok` may be null for a model without vocabulary metadata (then n_vocab must be set).
void write_random_model(const RandomModelSpec& spec, const Tokenizer* tok, const std::string& path,
                        bool progress = false);

}  // namespace r1
