// HfConfig: a Hugging Face `config.json` of the model families r1 converts (llama, qwen2 = the R1-Distill
// models; deepseek_v2 / deepseek_v3 = V2, V2-Lite, V3, R1), parsed and checked. Field names are the HF ones,
// so a reviewer can hold this beside the file (the spec sheet §3.1 maps them to DeepSeek's ModelArgs names).
//
// Presence matters for some fields: llama.cpp's converter writes a GGUF key only when the config has the
// field (n_group, topk_group, scoring_func, routed_scaling_factor, ...), so those are std::optional here.
// Every problem is an r1::Error naming the file and the field: "config.json: 'kv_lora_rank' must be a
// positive integer, got -1".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace r1 {

enum class HfFamily { Llama, Qwen2, DeepSeek };  // DeepSeek covers model_type deepseek_v2 and deepseek_v3

// config.json "rope_scaling" (absent or null: type is empty).
struct HfRopeScaling {
    std::string type;                              // "", "yarn", "linear", "llama3" ("rope_type" or "type")
    double factor = 1.0;                           // yarn / linear / llama3
    int64_t original_context = 0;                  // original_max_position_embeddings (yarn, llama3)
    std::optional<double> beta_fast, beta_slow;    // yarn
    std::optional<double> mscale, mscale_all_dim;  // DeepSeek yarn
    std::optional<double> extrapolation_factor, attention_factor;  // yarn, rarely given
    double low_freq_factor = 1.0, high_freq_factor = 4.0;          // llama3
};

struct HfConfig {
    std::string path;        // the config.json read, for messages
    std::string model_type;  // "llama" | "qwen2" | "deepseek_v2" | "deepseek_v3"
    HfFamily family = HfFamily::Llama;
    std::string name;  // "_name_or_path" when present, else ""

    // Shared by every family.
    int64_t vocab_size = 0;
    int64_t hidden_size = 0;              // d
    int64_t intermediate_size = 0;        // dense FFN width
    int64_t num_hidden_layers = 0;        // main-model layers (MTP layers come after these)
    int64_t num_attention_heads = 0;      // H
    int64_t num_key_value_heads = 0;      // dense GQA heads (DeepSeek: ignored, MLA)
    int64_t head_dim = 0;                 // dense: "head_dim" or hidden_size / H
    bool head_dim_given = false;          // "head_dim" was in the file (llama.cpp then writes key_length)
    int64_t max_position_embeddings = 0;  // 0 when absent
    double rms_norm_eps = 1e-6;
    double rope_theta = 10000.0;
    bool tie_word_embeddings = false;
    bool attention_bias = false;  // llama: q/k/v/o carry biases (qwen2 always has q/k/v biases)
    HfRopeScaling rope_scaling;

    // DeepSeek (V2 / V3) only.
    int64_t q_lora_rank = 0;  // 0: no query compression (null in V2-Lite)
    int64_t kv_lora_rank = 0;
    int64_t qk_nope_head_dim = 0, qk_rope_head_dim = 0, v_head_dim = 0;
    int64_t moe_intermediate_size = 0;
    std::optional<int64_t> n_routed_experts;  // absent: no MoE layers at all
    int64_t n_shared_experts = 0;
    int64_t num_experts_per_tok = 0;
    int64_t first_k_dense_replace = 0;
    int64_t moe_layer_freq = 1;
    std::optional<int64_t> n_group, topk_group;
    std::optional<std::string> scoring_func;  // "softmax" | "sigmoid"
    std::string topk_method;                  // "greedy" | "group_limited_greedy" | "noaux_tc" | ""
    bool norm_topk_prob = false;
    std::optional<double> routed_scaling_factor;
    int64_t num_nextn_predict_layers = 0;  // MTP modules (V3/R1: 1)

    // quantization_config {quant_method: "fp8", weight_block_size: [128, 128]}.
    bool fp8 = false;
    int64_t fp8_block_rows = 128, fp8_block_cols = 128;

    // Reads and validates DIR/config.json (or a config.json path).
    static HfConfig from_file(const std::string& path);
    // Parses JSON text; `source` names it in messages.
    static HfConfig parse(const std::string& json_text, const std::string& source);

    // Consistency checks (divisibility, ranges); from_file/parse call it. Throws r1::Error naming fields.
    void validate() const;

    bool is_deepseek() const { return family == HfFamily::DeepSeek; }
    // DeepSeek: layer i (main model or MTP) uses the routed-expert FFN (HF DeepseekV3DecoderLayer's rule).
    bool is_moe_layer(int64_t layer) const;
    // GGUF general.architecture: "llama", "qwen2" or "deepseek2".
    const char* gguf_arch() const;
};

}  // namespace r1
